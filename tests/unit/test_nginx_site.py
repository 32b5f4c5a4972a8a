"""The nginx role's site as nginx would load it (issue 10: D4, D11, C3), read with the
same helpers as the inside and outside checks (no host needed).

The site and its headers snippet are rendered with Ansible's templar, put into an
``nginx -T``-like dump with a Debian-like nginx.conf and mime.types, and parsed with
``tlsparse``; each check helper is also shown to fail on a broken configuration."""

from __future__ import annotations

import pytest
from role_files import (
    DOMAIN,
    assert_defaults_match_specs,
    preflight_problems,
    render,
    role_yaml,
    templar,
    trusted,
)

from jitsi_sovereign.checks import tlsparse
from jitsi_sovereign.checks.test_nginx import (
    gzip_problems,
    location_chains,
    location_header_problems,
    mime_problems,
    mime_types,
    nginx_seconds,
    versioned_expires_problems,
)

APP = "1.0.9365-1"
SECURITY_HEADERS = {"strict-transport-security", "x-content-type-options", "referrer-policy",
                    "content-security-policy", "x-frame-options"}

# What Debian's nginx.conf and mime.types (nginx 1.26.3) hold that matters here: gzip on
# for text/html only, application/javascript for .js, application/wasm, no .wav.
NGINX_CONF = """
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    gzip on;
    include /etc/nginx/sites-enabled/*;
}
"""
MIME_TYPES = """
types {
    text/html                                        html htm shtml;
    text/css                                         css;
    application/javascript                           js;
    application/json                                 json;
    application/wasm                                 wasm;
    audio/mpeg                                       mp3;
}
"""


def _templar(app: str | None, **over):
    return templar("nginx", {"ansible_facts": {"distribution_major_version": "13"},
                             "_nginx_current": {"versions": {"nginx-common": "1.26.3-3",
                                                             "jitsi-meet-web": app}},
                             **over})


def _dump(app: str | None = APP, edit=None, **over) -> str:
    t = _templar(app, **over)
    site = render(t, "nginx", "etc/nginx/sites-available/jitsi-sovereign.j2")
    snippet = render(t, "nginx", "etc/nginx/snippets/jitsi-sovereign-headers.conf.j2")
    if edit:
        site = edit(site)
    return "".join(f"# configuration file {path}:\n{text}\n" for path, text in [
        ("/etc/nginx/nginx.conf", NGINX_CONF),
        ("/etc/nginx/mime.types", MIME_TYPES),
        ("/etc/nginx/sites-enabled/jitsi-sovereign", site),
        ("/etc/nginx/snippets/jitsi-sovereign-headers.conf", snippet)])


def _chain(app: str | None = APP, edit=None, **over) -> list:
    port = int(over.get("nginx_https_port", 443))
    chain = tlsparse.find_server(tlsparse.parse_nginx_t(_dump(app, edit, **over)), port, DOMAIN)
    assert chain is not None
    return chain


def _csp(chain) -> str:
    return tlsparse.headers(chain)["content-security-policy"][0]


# ------------------------------------------------------------------ D4: CSP


def test_csp_allows_blob_workers_and_names_the_websocket_origin():
    directives = tlsparse.parse_csp(_csp(_chain()))
    assert directives["worker-src"] == ["'self'", "blob:"]
    assert directives["connect-src"] == ["'self'", f"wss://{DOMAIN}"]
    # Nothing wider than before: scripts still only from the site, no eval.
    assert directives["script-src"] == ["'self'", "'unsafe-inline'", "'wasm-unsafe-eval'"]
    assert directives["default-src"] == ["'self'"] and directives["object-src"] == ["'none'"]
    assert tlsparse.blob_worker_problems(_csp(_chain())) == []


def test_csp_websocket_origin_keeps_a_non_default_port():
    directives = tlsparse.parse_csp(_csp(_chain(nginx_https_port=8443)))
    assert directives["connect-src"] == ["'self'", f"wss://{DOMAIN}:8443"]


@pytest.mark.parametrize("csp,blocked", [
    ("default-src 'self'; script-src 'self' 'unsafe-inline'", "script-src"),
    ("default-src 'self'", "default-src"),
    ("default-src 'self'; script-src 'self' blob:; worker-src 'self'", "worker-src"),
    ("script-src 'self'; child-src 'self'", "child-src"),
])
def test_blob_worker_check_fails_without_blob(csp, blocked):
    (problem,) = tlsparse.blob_worker_problems(csp)
    assert problem.startswith(f"the CSP blocks blob: workers ({blocked} ")


@pytest.mark.parametrize("csp,governing", [
    ("default-src 'self'; script-src 'self' blob:", "script-src"),
    ("default-src 'self'; worker-src blob:", "worker-src"),
    ("img-src data:", None),  # nothing governs workers: allowed
])
def test_blob_worker_check_follows_the_fallback(csp, governing):
    assert tlsparse.csp_worker_sources(csp)[0] == governing
    assert tlsparse.blob_worker_problems(csp) == []


# ------------------------------------------------------------------ headers in every location


@pytest.mark.parametrize("app", [None, APP])
def test_every_location_keeps_the_security_headers(app):
    chain = _chain(app)
    assert location_header_problems(chain) == []
    server_headers = tlsparse.headers(chain)
    assert set(server_headers) == SECURITY_HEADERS
    assert len(location_chains(chain)) >= (8 if app else 4)
    for _, sub in location_chains(chain):
        assert tlsparse.headers(sub) == server_headers


def test_a_location_with_its_own_add_header_is_reported():
    def cors_on_static(site: str) -> str:
        return site.replace("alias /usr/share/jitsi-meet/$1/$2;",
                            "alias /usr/share/jitsi-meet/$1/$2;\n"
                            "        add_header Access-Control-Allow-Origin *;")

    (problem,) = location_header_problems(_chain(edit=cors_on_static))
    assert problem.startswith("location ~ ^/(libs|css|static|images|fonts|lang|sounds)/(.*)$ "
                              "adds its own headers and loses strict-transport-security")


# ------------------------------------------------------------------ D11: gzip, expires


@pytest.mark.parametrize("app", [None, APP])
def test_gzip_types(app):
    chain = _chain(app)
    assert tlsparse.effective(chain, "gzip") == ["on"]
    types = tlsparse.effective(chain, "gzip_types")
    for wanted in ("application/javascript", "application/wasm", "text/css",
                   "application/json", "text/plain"):
        assert wanted in types
    assert "text/html" not in types  # always compressed; listing it makes nginx warn
    assert tlsparse.effective(chain, "gzip_vary") == ["on"]
    assert tlsparse.effective(chain, "gzip_proxied") is None  # BOSH answers stay as they are
    assert gzip_problems(chain) == []


def test_gzip_check_fails_without_javascript():
    def no_js(site: str) -> str:
        return site.replace(" application/javascript", "")

    (problem,) = gzip_problems(_chain(edit=no_js))
    assert problem.startswith("the HTTPS server: gzip_types") and \
        problem.endswith("lacks application/javascript")


def test_gzip_check_fails_when_http_only_compresses_html():
    def no_gzip(site: str) -> str:
        return site.replace("gzip_types", "# gzip_types")

    assert "lacks application/javascript" in gzip_problems(_chain(edit=no_gzip))[0]


def test_gzip_check_fails_on_a_location_that_turns_it_off():
    def off_for_config_js(site: str) -> str:
        return site.replace("expires -1;", "expires -1;\n        gzip off;", 1)

    assert gzip_problems(_chain(edit=off_for_config_js)) == ["location = /config.js: gzip off"]


def test_versioned_assets_expire_after_a_year():
    chain = _chain()
    static = [sub[-1] for _, sub in location_chains(chain) if "libs" in " ".join(sub[-1].args)]
    assert [d.args for d in static[0].children("expires")] == [["$jitsi_sovereign_asset_expires"]]
    (expires_map,) = [m for m in chain[0].children("map")
                      if m.args == ["$arg_v", "$jitsi_sovereign_asset_expires"]]
    assert {d.name: d.args for d in expires_map.block} == {"": ["off"], "default": ["1y"]}
    assert versioned_expires_problems(chain) == []
    # config.js and interface_config.js are never cached.
    locs = {" ".join(sub[-1].args): sub[-1] for _, sub in location_chains(chain)}
    for name in ("= /config.js", "= /interface_config.js"):
        assert [d.args for d in locs[name].children("expires")] == [["-1"]]


def test_no_expires_map_without_the_web_app():
    chain = _chain(None)
    assert chain[0].children("map") == []
    assert versioned_expires_problems(chain) == [
        "no location serves the web app's static directories (libs, css...)"]


@pytest.mark.parametrize("replacement,problem", [
    ("", "no expires for versioned files"),
    ("expires 30d;", "versioned files expire after '30d', wants 1y"),
])
def test_expires_check_fails(replacement, problem):
    def edit(site: str) -> str:
        return site.replace("expires $jitsi_sovereign_asset_expires;", replacement)

    (found,) = versioned_expires_problems(_chain(edit=edit))
    assert problem in found


def test_expires_in_an_if_block_like_jitsis_own_site_passes():
    def edit(site: str) -> str:
        return site.replace("expires $jitsi_sovereign_asset_expires;",
                            "if ($arg_v) {\n            expires 1y;\n        }")

    assert versioned_expires_problems(_chain(edit=edit)) == []


@pytest.mark.parametrize("value,seconds", [
    ("1y", 365 * 86400), ("max", float("inf")), ("1h30m", 5400), ("3600", 3600),
    ("off", None), ("-1", None), ("", None),
])
def test_nginx_seconds(value, seconds):
    assert nginx_seconds(value) == seconds


# ------------------------------------------------------------------ C3: audio/wav


@pytest.mark.parametrize("app", [None, APP])
def test_wav_is_audio_wav_and_debians_types_are_kept(app):
    chain = _chain(app)
    types = mime_types(chain)
    assert types["wav"] == "audio/wav"
    assert types["js"] == "application/javascript" and types["wasm"] == "application/wasm"
    assert types["mp3"] == "audio/mpeg"
    assert mime_problems(chain) == []
    for _, sub in location_chains(chain):
        assert mime_types(sub) == types


def test_a_types_block_alone_loses_debians_map():
    def no_include(site: str) -> str:
        return site.replace("include /etc/nginx/mime.types;", "")

    problems = mime_problems(_chain(edit=no_include))
    assert ".js is served as the default type, wants application/javascript" in problems


# ------------------------------------------------------------------ the role's settings


def test_defaults_match_argument_specs():
    assert_defaults_match_specs("nginx")


def test_preflight_entry_point_checks_the_same_options():
    specs = role_yaml("nginx", "meta", "argument_specs.yml")["argument_specs"]
    options = specs["main"]["options"]
    assert specs["preflight"]["options"] == options
    # Ansible checks these choices (before the rules below).
    assert options["nginx_access_log"]["choices"] == ["off", "anonymized", "full"]
    assert "strict-origin-when-cross-origin" in options["nginx_referrer_policy"]["choices"]


def test_preflight_accepts_the_defaults():
    assert preflight_problems("nginx") == []


@pytest.mark.parametrize(("settings", "words"), [
    ({"nginx_server_name": "meet_1.example.org"},
     "nginx_server_name must be the meeting's host name (is meet_1.example.org)"),
    ({"nginx_https_port": "80"}, "nginx_https_port must be a port (1-65535) other than 80 (is 80)"),
    ({"nginx_https_port": 70000}, "nginx_https_port must be a port (1-65535) other than 80"),
    ({"nginx_hsts_max_age": 3600}, "nginx_hsts_max_age must be at least 15552000, six months"),
    ({"nginx_frame_ancestors": ["https://ent.example.org", "ent.example.org"]},
     "nginx_frame_ancestors takes origins such as https://portal.example.org or 'self' "
     "(not ent.example.org)"),
    ({"nginx_log_retention_days": "0"}, "nginx_log_retention_days must be at least 1 (is 0)"),
    ({"nginx_csp": {"default-src": "'self'", "worker-src": "blob:", "Img-Src": "'self'"}},
     "nginx_csp directive names must be in lower case (not Img-Src)"),
    ({"nginx_csp": {"default-src": "'self'; script-src *", "worker-src": "blob:"}},
     "nginx_csp values must not hold ; \" or a backslash (not default-src)"),
    ({"nginx_csp": {"worker-src": "blob:", "frame-ancestors": "*"}},
     "nginx_csp must not set frame-ancestors, which comes from nginx_frame_ancestors"),
    ({"nginx_root": "www"},
     "nginx_root and nginx_jitsi_config_js must be absolute paths (are www,"),
    ({"nginx_ssl_certificate_key": "privkey.pem"},
     "nginx_ssl_certificate and nginx_ssl_certificate_key must be absolute paths"),
])
def test_preflight_names_each_bad_setting(settings, words):
    (problem,) = preflight_problems("nginx", **settings)
    assert words in problem


def test_preflight_reports_every_problem_at_once():
    problems = preflight_problems("nginx", nginx_hsts_max_age=1, nginx_root="x",
                                  facts={"distribution": "Ubuntu", "distribution_version": "24.04",
                                         "distribution_major_version": "24"})
    assert len(problems) == 3
    assert problems[0] == "The nginx role supports Debian 12 and 13; this host runs Ubuntu 24.04."


def test_preflight_without_the_meeting_domain_says_so_once():
    (task,) = [t for t in role_yaml("nginx", "tasks", "preflight.yml")
               if t["name"].startswith("Check the nginx settings")]
    t = templar("nginx", {**trusted(task["vars"]), "ansible_facts": {
        "distribution": "Debian", "distribution_major_version": "13"}})
    t.available_variables = {k: v for k, v in t.available_variables.items()
                             if k != "jitsi_sovereign_domain"}
    (problem,) = t.template(trusted("{{ _problems }}"))
    assert problem.startswith("nginx_server_name must be the meeting's host name (is not set): set "
                              "jitsi_sovereign_domain")


@pytest.mark.parametrize(("csp", "fallback"), [
    ({"default-src": "'self'", "script-src": "'self' 'unsafe-inline' 'wasm-unsafe-eval'"},
     "script-src: 'self' 'unsafe-inline' 'wasm-unsafe-eval'"),
    ({"default-src": "'self'", "worker-src": "'self'"}, "worker-src: 'self'"),
    ({"img-src": "'self'"}, "default-src: nothing"),
])
def test_preflight_refuses_a_csp_without_blob_workers(csp, fallback):
    (error,) = preflight_problems("nginx", nginx_csp=csp)
    assert error.startswith("nginx_csp does not allow workers from blob: URLs "
                            f"(workers fall back to {fallback})")
    assert "worker-src: \"'self' blob:\"" in error


def test_defaults_csp_has_the_blob_workers():
    csp = role_yaml("nginx", "defaults", "main.yml")["nginx_csp"]
    assert csp["worker-src"] == "'self' blob:"
