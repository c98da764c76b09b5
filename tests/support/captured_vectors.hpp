#pragma once
// Captured from real peers, shared by the tests that read them.
namespace rdp::test::vectors {

// The certificate in XRDP-MCS-RSP-RDP-HIGH (docs/wire-vectors.md 4.3): xrdp 0.9.21.1's, for its RSA-2048 key from
// /etc/xrdp/rsakeys.ini on the capturing host, signed with the Terminal Services key.
inline const char* const xrdp_certificate =
    "01 00 00 00 01 00 00 00 01 00 00 00 06 00 1c 01 52 53 41 31 08 01 00 00 00 08 00 00 ff 00 00 00 01 00 01 00 "
    "39 7b 9f 33 c8 cc f1 43 31 8d 78 dc 21 39 69 d6 ef 9e 6a 47 49 b0 87 5b 66 68 90 c5 9e 7b d4 34 b7 c9 6f c1 "
    "b3 3f a9 71 30 68 81 6f ee 0f cb ad e0 13 0b 52 80 f5 1c b6 25 01 68 0c 74 3c 40 a4 5d 92 db 62 71 16 f6 3d "
    "0d ec 3e 9d 3a 07 9a 74 a2 d1 88 e4 dd 84 11 ac 79 cc be cf c5 38 a2 55 51 16 19 70 7b 41 61 42 e6 d8 b3 7d "
    "23 01 5b df ad 3e c5 7e f9 3b 76 c7 c0 48 14 21 c4 6d 5d 45 bf 6f a3 c0 75 c3 3c 4d 25 fe 24 f4 50 1c 51 11 "
    "99 f1 1b 49 bd d6 c5 97 c0 44 b0 f0 4d 22 ab dc fa ed 53 b3 72 b8 99 41 45 36 1a 9c b0 f4 75 eb bc dc 22 6c "
    "ef 3b b3 7a 5b 73 f8 c4 0f 57 6d b9 9a 0c 11 72 9a 9d 54 22 6c 89 81 1a 16 37 12 76 de 5f a8 70 2e bb 3e 9d "
    "45 6d 5a 35 f5 76 b3 93 17 75 53 8f 79 b9 aa f2 e9 48 d2 61 19 ea df 73 7a 1f 0d 9f 0e 61 5f 6d 55 14 83 8a "
    "d9 5d 5f e2 00 00 00 00 00 00 00 00 08 00 48 00 1e 24 0c 03 26 51 1e aa 53 78 01 33 aa af 82 0b c2 a5 2f cf "
    "29 65 fb 27 0b 5d 28 84 50 4e 6a d1 8f 84 ba 9c 4d 20 27 ae 26 4f d9 b2 0a 29 29 5b 9d 3b 9e 01 60 34 53 f3 "
    "96 28 6e 6e 05 10 28 0e 00 00 00 00 00 00 00 00";

}  // namespace rdp::test::vectors
