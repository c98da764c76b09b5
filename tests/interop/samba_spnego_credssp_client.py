#!/usr/bin/python3
"""A CredSSP client whose SPNEGO and NTLM are Samba's (python3-samba's gensec), as a real peer for rdpsim's SPNEGO
acceptor (tests/interop/samba_spnego_test.cpp). rdpsim has no other SPNEGO-speaking peer on Debian 12: FreeRDP 2.11
sends raw NTLM, and mstsc is not here.

It does what mstsc does up to the Early User Authorization Result: an X.224 Connection Request for
SSL|HYBRID|HYBRID_EX, TLS, then the CredSSP TSRequests (MS-CSSP 2.2.1) with gensec's SPNEGO tokens, pubKeyAuth sealed
with gensec_wrap over the SHA-256 binding of version 6 (3.1.5), the server's mechListMIC and binding checked, the
password TSCredentials sealed, and the 4-byte EUAR read (MS-RDPBCGR 2.2.10.2). The TSRequest DER is written here;
SPNEGO, NTLM, the MICs and the sealing are all Samba's.

Prints one JSON object: {"selected": N, "stage": "...", "error_code": N|null, "euar": N|null, "spnego_complete":
bool (gensec checked the server's mechListMIC), "binding_ok": bool, "log": "..."}. Exit 0 when it ran to an answer (success or refusal), 2 on a usage error.
"""
import argparse
import hashlib
import json
import os
import socket
import ssl
import struct
import sys

from samba import credentials, gensec
from samba.param import LoadParm


# --- DER, just what TSRequest needs -----------------------------------------------------------------------------
def der_len(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def der_int(v):
    body = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True)
    return tlv(0x02, body)


def read_tlv(data, pos):
    tag = data[pos]
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        count = n & 0x7F
        n = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    return tag, data[pos:pos + n], pos + n


def children(content):
    pos, out = 0, []
    while pos < len(content):
        tag, value, pos = read_tlv(content, pos)
        out.append((tag, value))
    return out


def ts_request(version, token=None, pub_key_auth=None, auth_info=None, nonce=None):
    fields = tlv(0xA0, der_int(version))
    if token is not None:
        fields += tlv(0xA1, tlv(0x30, tlv(0x30, tlv(0xA0, tlv(0x04, token)))))
    if auth_info is not None:
        fields += tlv(0xA2, tlv(0x04, auth_info))
    if pub_key_auth is not None:
        fields += tlv(0xA3, tlv(0x04, pub_key_auth))
    if nonce is not None:
        fields += tlv(0xA5, tlv(0x04, nonce))
    return tlv(0x30, fields)


def parse_ts_request(der):
    _, content, _ = read_tlv(der, 0)
    out = {}
    for tag, value in children(content):
        inner = children(value)[0]
        if tag == 0xA0:
            out["version"] = int.from_bytes(inner[1], "big", signed=True)
        elif tag == 0xA1:
            item = children(inner[1])[0][1]  # SEQUENCE OF SEQUENCE { [0] OCTET STRING }
            out["token"] = children(children(item)[0][1])[0][1]
        elif tag == 0xA3:
            out["pub_key_auth"] = inner[1]
        elif tag == 0xA4:
            out["error_code"] = int.from_bytes(inner[1], "big", signed=False)
    return out


def subject_public_key(cert_der):
    """The BIT STRING content of the certificate's SubjectPublicKeyInfo (what the binding hashes, MS-CSSP 3.1.5)."""
    _, cert, _ = read_tlv(cert_der, 0)
    _, tbs, _ = read_tlv(cert, 0)
    fields = children(tbs)
    index = 1 if fields[0][0] == 0xA0 else 0  # [0] version is optional
    spki = fields[index + 5][1]  # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    bit_string = children(spki)[1][1]
    return bit_string[1:]  # after the unused-bits octet


def read_der_message(tls):
    head = recv_exact(tls, 2)
    n = head[1]
    extra = b""
    if n & 0x80:
        extra = recv_exact(tls, n & 0x7F)
        n = int.from_bytes(extra, "big")
    return head + extra + recv_exact(tls, n)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data


def x224_connection_request(cookie, requested):
    neg = struct.pack("<BBHI", 0x01, 0x00, 8, requested)
    body = bytes([0xE0, 0, 0, 0, 0, 0]) + ("Cookie: mstshash=%s\r\n" % cookie).encode() + neg
    x224 = bytes([len(body)]) + body
    return struct.pack(">BBH", 3, 0, len(x224) + 4) + x224


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--domain", default="LAB")
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args()
    result = {"selected": None, "stage": "connect", "error_code": None, "euar": None,
              "spnego_complete": False, "binding_ok": False, "log": ""}

    lp = LoadParm()
    conf = os.path.join(os.environ.get("TMPDIR", "/tmp"), "samba-spnego-client-%d.conf" % os.getpid())
    with open(conf, "w") as f:
        f.write("[global]\n  workgroup = %s\n  netbios name = CLIENT\n" % args.domain)
    lp.load(conf)
    os.unlink(conf)
    creds = credentials.Credentials()
    creds.guess(lp)
    creds.set_username(args.user)
    creds.set_password(args.password)
    creds.set_domain(args.domain)
    creds.set_workstation("CLIENT")
    creds.set_kerberos_state(credentials.DONT_USE_KERBEROS)
    g = gensec.Security.start_client({"lp_ctx": lp, "target_hostname": args.host})
    g.set_credentials(creds)
    g.set_target_service("TERMSRV")
    g.want_feature(gensec.FEATURE_SEAL)
    g.start_mech_by_name("spnego")

    try:
        raw = socket.create_connection((args.host, args.port), timeout=args.timeout)
        raw.settimeout(args.timeout)
        raw.sendall(x224_connection_request(args.user, 0x0B))
        tpkt = recv_exact(raw, 4)
        cc = recv_exact(raw, struct.unpack(">H", tpkt[2:4])[0] - 4)
        if len(cc) < 15 or cc[7] != 0x02:
            result["stage"] = "negotiation"
            result["log"] = "no RDP_NEG_RSP (type %s)" % (cc[7] if len(cc) > 7 else None)
            return result
        result["selected"] = struct.unpack("<I", cc[11:15])[0]
        result["stage"] = "tls"
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        tls = context.wrap_socket(raw, server_hostname=None)
        public_key = subject_public_key(tls.getpeercert(binary_form=True))

        result["stage"] = "credssp"
        nonce = os.urandom(32)
        finished, token = g.update(b"")
        tls.sendall(ts_request(6, token=token))
        client_binding = hashlib.sha256(b"CredSSP Client-To-Server Binding Hash\0" + nonce + public_key).digest()
        binding_sent = False
        for _ in range(5):  # CredSSP over SPNEGO: at most five round trips before the credentials
            answer = parse_ts_request(read_der_message(tls))
            if "error_code" in answer:
                result["error_code"] = answer["error_code"]
                result["log"] = "the server answered with TSRequest.errorCode 0x%08X" % answer["error_code"]
                return result
            token = None
            if "token" in answer:
                # gensec checks the server's mechListMIC here: `finished` only once SPNEGO is complete.
                finished, token = g.update(answer["token"])
                result["spnego_complete"] = bool(finished)
            if "pub_key_auth" in answer:
                expected = hashlib.sha256(b"CredSSP Server-To-Client Binding Hash\0" + nonce + public_key).digest()
                result["binding_ok"] = g.unwrap(answer["pub_key_auth"]) == expected
                if not result["binding_ok"]:
                    result["log"] = "the server's pubKeyAuth does not bind its TLS key"
                    return result
                break
            if finished and not binding_sent:
                # Samba seals only once SPNEGO is complete, so pubKeyAuth goes in a TSRequest of its own.
                tls.sendall(ts_request(6, token=token or None, pub_key_auth=g.wrap(client_binding), nonce=nonce))
                binding_sent = True
            else:
                tls.sendall(ts_request(6, token=token))
        else:
            result["log"] = "CredSSP did not complete in five round trips"
            return result

        def octets(tag, value):
            return tlv(tag, tlv(0x04, value))
        password_creds = tlv(0x30, octets(0xA0, args.domain.encode("utf-16-le")) +
                             octets(0xA1, args.user.encode("utf-16-le")) + octets(0xA2, args.password.encode("utf-16-le")))
        ts_credentials = tlv(0x30, tlv(0xA0, der_int(1)) + octets(0xA1, password_creds))
        tls.sendall(ts_request(6, auth_info=g.wrap(ts_credentials)))
        result["stage"] = "euar"
        result["euar"] = struct.unpack("<I", recv_exact(tls, 4))[0]
        result["log"] = "logged on over SPNEGO; EUAR 0x%08X" % result["euar"]
        return result
    except (OSError, ConnectionError, ssl.SSLError, RuntimeError) as e:
        result["log"] = "%s: %s" % (type(e).__name__, e)
        return result


if __name__ == "__main__":
    print(json.dumps(main()))
    sys.exit(0)
