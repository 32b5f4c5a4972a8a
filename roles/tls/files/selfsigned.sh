#!/bin/sh
# A self-signed certificate (ECDSA P-256) for labs: selfsigned.sh DIR DAYS CN SAN, e.g.
#   selfsigned.sh /etc/jitsi-sovereign/tls 365 meet.example.org DNS:meet.example.org
# A new key and certificate are made next to the old ones, then renamed over them (a
# symlink of the acme mode is replaced, not followed). Run by the tls role.
set -eu
umask 077
d=$1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$d/.privkey.pem.new" -out "$d/.fullchain.pem.new" -days "$2" -subj "/CN=$3" \
  -addext "subjectAltName=$4" -addext "basicConstraints=critical,CA:FALSE" \
  -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=serverAuth" 2>/dev/null
chmod 0644 "$d/.fullchain.pem.new"
chmod 0600 "$d/.privkey.pem.new"
mv -Tf "$d/.privkey.pem.new" "$d/privkey.pem"
mv -Tf "$d/.fullchain.pem.new" "$d/fullchain.pem"
