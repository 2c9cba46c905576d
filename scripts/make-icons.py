#!/usr/bin/env python3
# Draws the app's icons (web/public/icons/icon-<size>.png, the web app manifest's) with the
# standard library only: a white arrow down onto a bar, on the page's accent blue, inside the
# centre 80% that a "maskable" crop keeps. Run from the repository's root; the PNGs are committed.
import struct
import zlib

BLUE = (0x25, 0x63, 0xEB)
WHITE = (0xFF, 0xFF, 0xFF)


def inside_arrow(x, y):
    # Unit square coordinates; the shape spans 0.3..0.7 wide, 0.22..0.78 high.
    if 0.44 <= x <= 0.56 and 0.22 <= y <= 0.52:
        return True  # shaft
    if 0.52 <= y <= 0.68 and abs(x - 0.5) <= (0.68 - y) * 1.25:
        return True  # head
    return 0.3 <= x <= 0.7 and 0.72 <= y <= 0.78  # bar


def png(size):
    rows = bytearray()
    for j in range(size):
        rows.append(0)  # filter: none
        for i in range(size):
            rows.extend(WHITE if inside_arrow((i + 0.5) / size, (j + 0.5) / size) else BLUE)

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))

    header = struct.pack('>IIBBBBB', size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(bytes(rows), 9)) + chunk(b'IEND', b'')


for size in (192, 512):
    with open(f'web/public/icons/icon-{size}.png', 'wb') as out:
        out.write(png(size))
