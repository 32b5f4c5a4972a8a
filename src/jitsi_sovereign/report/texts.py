"""The words of a report around the findings, in French and English.

``AREAS``: each area's name and the one sentence it promises, keyed by area (the audit's
areas and verify's check modules); ``area_name`` / ``area_promise`` fall back to the
area's id and to no promise for an area not listed. ``UI``: the report's own labels.
A finding's own words are the finding's (``Finding.text``): they are made where it is made.
"""

from __future__ import annotations

LANGS = ("fr", "en")

# area -> lang -> (name, promise). A "kind:area" key overrides "area" for that kind
# (verify's "tls" checks the certificate files on the host and their renewal).
AREAS: dict[str, dict[str, tuple[str, str]]] = {
    # ------------------------------------------------------------ audit (from outside)
    "tls": {
        "en": ("Encryption (TLS)",
               "Connections to the server are encrypted with current protocols and a valid "
               "certificate: nobody on the way can read or change them."),
        "fr": ("Chiffrement (TLS)",
               "Les connexions au serveur sont chiffrées avec des protocoles à jour et un "
               "certificat valide : personne sur le trajet ne peut les lire ni les modifier."),
    },
    "verify:tls": {
        "en": ("Certificate (TLS)",
               "The server's certificate is valid for its name, its private key is protected, "
               "and it renews itself before it expires."),
        "fr": ("Certificat (TLS)",
               "Le certificat du serveur est valide pour son nom, sa clé privée est protégée, "
               "et il se renouvelle de lui-même avant d'expirer."),
    },
    "http": {
        "en": ("Web site protections",
               "The site tells browsers to use HTTPS only, to run code from this server alone "
               "and to pass nothing on to other sites."),
        "fr": ("Protections du site web",
               "Le site demande aux navigateurs de n'utiliser que HTTPS, de n'exécuter que le "
               "code de ce serveur et de ne rien transmettre aux autres sites."),
    },
    "sovereignty": {
        "en": ("Sovereignty (third parties)",
               "The web app the participants load contacts no other company's server: no "
               "audience measurement, no avatars from outside, no foreign relay."),
        "fr": ("Souveraineté (services tiers)",
               "L'application que chargent les participants ne contacte le serveur d'aucune "
               "autre entreprise : ni mesure d'audience, ni avatars venus d'ailleurs, ni "
               "relais étranger."),
    },
    "access": {
        "en": ("Who can open a meeting",
               "Only people with an account can open a meeting; guests join meetings already "
               "open and cannot pass for someone else."),
        "fr": ("Qui peut ouvrir une réunion",
               "Seules les personnes qui ont un compte peuvent ouvrir une réunion ; les invités "
               "rejoignent des réunions déjà ouvertes, sans pouvoir se faire passer pour un "
               "autre."),
    },
    "network": {
        "en": ("Services open to the Internet",
               "Only the services a meeting needs answer from the Internet; the server's "
               "internal services cannot be reached."),
        "fr": ("Services ouverts sur Internet",
               "Seuls les services nécessaires à une réunion répondent depuis Internet ; les "
               "services internes du serveur sont inaccessibles."),
    },
    "turn": {
        "en": ("Audio and video relay (TURN)",
               "The relay carries the meetings' audio and video only: nobody can use it to "
               "reach the server's internal network or other machines."),
        "fr": ("Relais audio et vidéo (TURN)",
               "Le relais ne transporte que le son et l'image des réunions : personne ne peut "
               "s'en servir pour atteindre le réseau interne du serveur ni d'autres machines."),
    },
    # ------------------------------------------------------------ verify (check modules)
    "ssh": {
        "en": ("Administration access (SSH)",
               "Administration is done with a key only, never with a password, and the root "
               "account cannot log in directly."),
        "fr": ("Accès d'administration (SSH)",
               "L'accès d'administration se fait par clé uniquement, jamais par mot de passe, "
               "et le compte root ne peut pas se connecter directement."),
    },
    "firewall": {
        "en": ("Firewall",
               "Everything is blocked except the ports a meeting needs; administration only "
               "from the declared networks."),
        "fr": ("Pare-feu",
               "Tout est bloqué sauf les ports dont une réunion a besoin ; l'administration "
               "n'est possible que depuis les réseaux déclarés."),
    },
    "outside": {
        "en": ("Seen from the Internet",
               "From the Internet, only the meeting's ports answer and the administration "
               "access refuses passwords."),
        "fr": ("Vu depuis Internet",
               "Depuis Internet, seuls les ports de la réunion répondent et l'accès "
               "d'administration refuse les mots de passe."),
    },
    "outside_tls": {
        "en": ("Encryption seen from the Internet",
               "A browser gets current encryption only, and the certificate it is shown is "
               "valid and the one installed."),
        "fr": ("Chiffrement vu depuis Internet",
               "Un navigateur n'obtient qu'un chiffrement à jour, et le certificat présenté "
               "est valide et bien celui qui est installé."),
    },
    "sysctl": {
        "en": ("System network settings",
               "The operating system is set to resist common network attacks."),
        "fr": ("Réglages réseau du système",
               "Le système est réglé pour résister aux attaques réseau courantes."),
    },
    "unattended_upgrades": {
        "en": ("Security updates",
               "Security updates are installed automatically every day."),
        "fr": ("Mises à jour de sécurité",
               "Les mises à jour de sécurité s'installent automatiquement chaque jour."),
    },
    "fail2ban": {
        "en": ("Protection against password guessing",
               "An address that fails to log in again and again is blocked for a while."),
        "fr": ("Protection contre les tentatives d'intrusion",
               "Une adresse qui échoue à se connecter à plusieurs reprises est bloquée pendant "
               "un temps."),
    },
    "journald": {
        "en": ("System logs",
               "The system logs are kept on disk for a limited time and size, then deleted."),
        "fr": ("Journaux du système",
               "Les journaux du système sont conservés sur le disque pour une durée et une "
               "taille limitées, puis effacés."),
    },
    "auditd": {
        "en": ("Audit trail",
               "Actions on the server are recorded by the audit system, and its records are "
               "not overwritten."),
        "fr": ("Traçabilité",
               "Les actions sur le serveur sont enregistrées par le système d'audit, sans que "
               "ses traces soient écrasées."),
    },
    "base": {
        "en": ("System base (ANSSI)",
               "The base follows ANSSI's Linux recommendations where they fit a single-purpose "
               "server: private files by default, strongly hashed passwords, unneeded kernel "
               "modules refused, a legal notice before login, services restarted after a "
               "library update."),
        "fr": ("Socle du système (ANSSI)",
               "Le socle suit les recommandations Linux de l'ANSSI qui conviennent à un serveur "
               "dédié : fichiers privés par défaut, mots de passe hachés de façon robuste, "
               "modules du noyau inutiles refusés, avertissement légal avant la connexion, "
               "services redémarrés après la mise à jour d'une bibliothèque."),
    },
    "permissions": {
        "en": ("File permissions",
               "Sensitive files (passwords, keys, settings) can be read only by the services "
               "that need them."),
        "fr": ("Droits sur les fichiers",
               "Les fichiers sensibles (mots de passe, clés, réglages) ne sont lisibles que par "
               "les services qui en ont besoin."),
    },
    "nginx": {
        "en": ("Web server",
               "The web server uses current encryption, gives browsers the security "
               "instructions, and records visitors' addresses only as promised (not at all, "
               "or shortened)."),
        "fr": ("Serveur web",
               "Le serveur web utilise un chiffrement à jour, donne aux navigateurs les "
               "consignes de sécurité, et n'enregistre les adresses des visiteurs que comme "
               "promis (pas du tout, ou tronquées)."),
    },
    "prosody": {
        "en": ("Accounts and meeting rooms (XMPP)",
               "The messaging server listens inside the machine only, requires encryption, and "
               "accepts logins only as configured."),
        "fr": ("Comptes et salles de réunion (XMPP)",
               "Le serveur de messagerie n'écoute qu'à l'intérieur de la machine, exige le "
               "chiffrement et n'accepte les connexions que selon le mode choisi."),
    },
    "ldap": {
        "en": ("Login through the directory (LDAP)",
               "Passwords are checked against the directory over an encrypted, verified "
               "connection only."),
        "fr": ("Connexion par l'annuaire (LDAP)",
               "Les mots de passe sont vérifiés auprès de l'annuaire uniquement par une "
               "connexion chiffrée et authentifiée."),
    },
    "coturn": {
        "en": ("Audio and video relay (TURN)",
               "The relay carries the meetings' audio and video only, refuses to reach "
               "internal addresses, and keeps no log file of addresses."),
        "fr": ("Relais audio et vidéo (TURN)",
               "Le relais ne transporte que le son et l'image des réunions, refuse d'atteindre "
               "les adresses internes et ne tient aucun fichier d'adresses."),
    },
    "jicofo": {
        "en": ("Conference organiser (jicofo)",
               "The service that organises the conferences talks to the others inside the "
               "machine only."),
        "fr": ("Organisation des conférences (jicofo)",
               "Le service qui organise les conférences ne communique avec les autres qu'à "
               "l'intérieur de la machine."),
    },
    "videobridge": {
        "en": ("Video bridge",
               "The bridge relays the meetings' audio and video; its control interfaces can be "
               "reached inside the machine only."),
        "fr": ("Pont vidéo",
               "Le pont relaie le son et l'image des réunions ; ses interfaces de commande ne "
               "sont accessibles qu'à l'intérieur de la machine."),
    },
    "jitsi_web": {
        "en": ("Web app settings",
               "The web app contacts this server only: no audience measurement, no outside "
               "avatars, room names not kept, no recording."),
        "fr": ("Réglages de l'application web",
               "L'application web ne contacte que ce serveur : pas de mesure d'audience, pas "
               "d'avatars externes, noms de salles non conservés, pas d'enregistrement."),
    },
    "jitsi_packages": {
        "en": ("Origin of the software",
               "Jitsi's software comes only from its official source, checked against its "
               "signing key, in fixed versions."),
        "fr": ("Origine des logiciels",
               "Les logiciels Jitsi proviennent uniquement de leur source officielle, vérifiée "
               "par sa clé de signature, dans des versions fixées."),
    },
    "sandbox": {
        "en": ("Service sandboxes",
               "Each network service runs confined by systemd: it sees and may change only "
               "what it needs, and comes back if it crashes."),
        "fr": ("Isolement des services",
               "Chaque service réseau tourne confiné par systemd : il ne voit et ne peut "
               "modifier que ce dont il a besoin, et redémarre s'il s'arrête brutalement."),
    },
    "collect": {
        "en": ("Loading the checks", "Every check could be loaded."),
        "fr": ("Chargement des vérifications", "Toutes les vérifications ont pu être chargées."),
    },
    "verify": {
        "en": ("Verification run", "The verification ran to its end on the server."),
        "fr": ("Déroulement de la vérification",
               "La vérification s'est déroulée jusqu'au bout sur le serveur."),
    },
    "other": {
        "en": ("Other checks", ""),
        "fr": ("Autres vérifications", ""),
    },
}


def _entry(area: str, lang: str, kind: str = "") -> tuple[str, str] | None:
    for key in (f"{kind}:{area}", area):
        if key in AREAS:
            texts = AREAS[key]
            return texts.get(lang) or texts["en"]
    return None


def area_name(area: str, lang: str = "en", kind: str = "") -> str:
    entry = _entry(area, lang, kind)
    return entry[0] if entry else area


def area_promise(area: str, lang: str = "en", kind: str = "") -> str:
    entry = _entry(area, lang, kind)
    return entry[1] if entry else ""


# The report's own words.
UI: dict[str, dict[str, str]] = {
    "en": {
        "title_audit": "Audit of {target}",
        "title_verify": "Verification of {target}",
        "intro_audit": "A check of this Jitsi Meet server from outside, as a participant's "
                       "browser, an attacker or an auditor sees it.",
        "intro_verify": "A check of the servers deployed by jitsi-sovereign, from inside "
                        "(their settings) and from outside (what the Internet sees).",
        "promises": "What this server promises",
        "verdict": "Verdict",
        "verdict_ok": "Every important promise holds.",
        "verdict_failed": "At least one important promise does not hold: see the failures "
                          "and what to do below.",
        "verdict_empty": "Nothing could be checked.",
        "verdict_error": "The check could not run: {error}",
        "glance": "Findings at a glance",
        "area": "Area",
        "promise": "Promise",
        "result": "Result",
        "passed": "passed",
        "failed": "failed",
        "skipped": "skipped",
        "mark_passed": "✓ Holds",
        "mark_failed": "✗ Does not hold",
        "mark_skipped": "○ Not checked",
        "mark_error": "✗ Not run",
        "details": "Details by area",
        "reason": "Why",
        "skip_reason": "Why it was not checked",
        "fix": "What to do",
        "evidence": "Evidence",
        "no_evidence": "No further detail recorded.",
        "severity": "Importance",
        "sev_high": "high",
        "sev_medium": "medium",
        "sev_low": "low",
        "sev_info": "information",
        "host": "Server",
        "hosting": "Hosting",
        "hosting_intro": "As declared by the operator in the deployment's settings "
                         "(jitsi_sovereign_hosting); not checked by this tool.",
        "hosting_none": "Not declared.",
        "hosting_audit": "Not known from outside: the operator of the server must declare it.",
        "personal": "Personal data kept",
        "personal_intro": "What the server keeps about the people who use it, where, and for "
                          "how long, as read from its settings.",
        "personal_audit": "Cannot be known from outside: only the server's own settings tell "
                          "what it records and for how long. Ask its operator for a "
                          "verification report (jitsi-sovereign verify).",
        "personal_none": "Not read.",
        "data": "What",
        "where": "Where",
        "retention": "How long",
        "not_declared": "not declared",
        "field_provider": "Provider",
        "field_region": "Region",
        "field_datacenter": "Data centre",
        "field_country": "Country",
        "field_jurisdiction": "Jurisdiction",
        "field_certification": "Certification",
        "field_contact": "Contact",
        "field_notes": "Notes",
        "generated": "Made by jitsi-sovereign {version} on {started}, in {duration} s.",
        "target": "Checked",
        "failures": "What does not hold",
        "skips": "Not checked",
        "nothing_failed": "Nothing failed.",
        "skip_to": "Skip to the findings",
        "lang_name": "English",
        "colon": ":",
        "reached": "Reached at",
        "port": "port",
        "connect_to": "address given with --connect-to, not the name's DNS",
        "connection_error": "SSH connection failed",
    },
    "fr": {
        "title_audit": "Audit de {target}",
        "title_verify": "Vérification de {target}",
        "intro_audit": "Un contrôle de ce serveur Jitsi Meet depuis l'extérieur, tel que le "
                       "voient le navigateur d'un participant, un attaquant ou un auditeur.",
        "intro_verify": "Un contrôle des serveurs installés par jitsi-sovereign, de l'intérieur "
                        "(leurs réglages) et de l'extérieur (ce qu'en voit Internet).",
        "promises": "Ce que ce serveur promet",
        "verdict": "Conclusion",
        "verdict_ok": "Toutes les promesses importantes sont tenues.",
        "verdict_failed": "Au moins une promesse importante n'est pas tenue : voir ci-dessous "
                          "les points en défaut et ce qu'il faut faire.",
        "verdict_empty": "Rien n'a pu être vérifié.",
        "verdict_error": "Le contrôle n'a pas pu avoir lieu\u00a0: {error}",
        "glance": "Résultats en un coup d'œil",
        "area": "Domaine",
        "promise": "Promesse",
        "result": "Résultat",
        "passed": "tenu",
        "failed": "en défaut",
        "skipped": "non vérifié",
        "mark_passed": "✓ Tenu",
        "mark_failed": "✗ Non tenu",
        "mark_skipped": "○ Non vérifié",
        "mark_error": "✗ Contrôle impossible",
        "details": "Détail par domaine",
        "reason": "Pourquoi",
        "skip_reason": "Pourquoi ce n'est pas vérifié",
        "fix": "Que faire",
        "evidence": "Éléments constatés",
        "no_evidence": "Aucun autre détail enregistré.",
        "severity": "Importance",
        "sev_high": "élevée",
        "sev_medium": "moyenne",
        "sev_low": "faible",
        "sev_info": "pour information",
        "host": "Serveur",
        "hosting": "Hébergement",
        "hosting_intro": "Tel que déclaré par l'exploitant dans les réglages du déploiement "
                         "(jitsi_sovereign_hosting) ; non vérifié par cet outil.",
        "hosting_none": "Non déclaré.",
        "hosting_audit": "Inconnu vu de l'extérieur : c'est à l'exploitant du serveur de le "
                         "déclarer.",
        "personal": "Données personnelles conservées",
        "personal_intro": "Ce que le serveur garde sur les personnes qui l'utilisent, où, et "
                          "combien de temps, d'après ses réglages.",
        "personal_audit": "Impossible à savoir depuis l'extérieur : seuls les réglages du "
                          "serveur disent ce qu'il enregistre et combien de temps. Demandez à "
                          "son exploitant un rapport de vérification (jitsi-sovereign verify).",
        "personal_none": "Non relevé.",
        "data": "Quoi",
        "where": "Où",
        "retention": "Combien de temps",
        "not_declared": "non déclaré",
        "field_provider": "Hébergeur",
        "field_region": "Région",
        "field_datacenter": "Centre de données",
        "field_country": "Pays",
        "field_jurisdiction": "Droit applicable",
        "field_certification": "Qualification",
        "field_contact": "Contact",
        "field_notes": "Remarques",
        "generated": "Établi par jitsi-sovereign {version} le {started} en {duration} s.",
        "target": "Contrôlé",
        "failures": "Ce qui n'est pas tenu",
        "skips": "Non vérifié",
        "nothing_failed": "Aucun point en défaut.",
        "skip_to": "Aller aux résultats",
        "lang_name": "Français",
        "colon": "\u00a0:",
        "reached": "Joint à l'adresse",
        "port": "port",
        "connect_to": "adresse donnée par --connect-to, pas celle du DNS",
        "connection_error": "la connexion SSH a échoué",
    },
}

# The hosting facts an inventory may declare (jitsi_sovereign_hosting), in display order.
HOSTING_FIELDS = ("provider", "region", "datacenter", "country", "jurisdiction",
                  "certification", "contact", "notes")


def summary(passed: int, failed: int, skipped: int, lang: str = "en") -> str:
    """"287 passed, 0 failed, 62 not checked" / "287 tenus, 0 en défaut, 62 non vérifiés"
    (French: plural from 2 on)."""
    if lang == "fr":
        def s(n: int) -> str:
            return "s" if n >= 2 else ""
        return f"{passed} tenu{s(passed)}, {failed} en défaut, {skipped} non vérifié{s(skipped)}"
    return f"{passed} passed, {failed} failed, {skipped} not checked"


def ui(lang: str) -> dict[str, str]:
    if lang not in UI:
        raise ValueError(f"language {lang!r}: one of {', '.join(LANGS)}")
    return UI[lang]
