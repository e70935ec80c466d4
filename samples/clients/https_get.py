#!/usr/bin/python3
"""https_get.py: one HTTPS GET through Python's urllib and ssl module, for a ClientHello capture.

Debian's own /usr/bin/python3 runs it (record.sh calls it so), not some other Python on PATH.
The certificate to trust comes from SSL_CERT_FILE, which OpenSSL's default verify paths read,
so the default case passes no context at all: http.client then builds its own
(ssl.create_default_context(), ALPN http/1.1, post-handshake auth on), as any script that
calls urlopen(url) gets.

usage: https_get.py [--tls10] URL
  --tls10   a context pinned to TLS 1.0 the way a user does it:
            minimum_version = maximum_version = TLSVersion.TLSv1; Debian's OpenSSL
            also needs security level 0, or it refuses the server's SHA-1 based handshake
"""
import ssl
import sys
import urllib.request


def legacy_context():
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("DEFAULT@SECLEVEL=0")
    return ctx


def main(argv):
    args = [a for a in argv if a != "--tls10"]
    if len(args) != 1:
        print("usage: https_get.py [--tls10] URL", file=sys.stderr)
        return 2
    context = legacy_context() if "--tls10" in argv else None
    with urllib.request.urlopen(args[0], context=context, timeout=5) as resp:
        sys.stdout.write(resp.read().decode("utf-8", "replace"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
