"""The demo host's picture: a test card in a country's flag colours with its name and a running
clock, drawn straight into YUV 4:2:0 planes (no imaging library needed).

The card is drawn once; each second only the clock's rectangle is redrawn into the luma plane,
so a frame costs a copy and the encoder sees one small changing region.
"""

from __future__ import annotations

import time
import zlib

# 5x7 glyphs: seven rows of five columns, "#" is ink.
_GLYPHS = {
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".#### #.... #.... #.... #.... #.... .####",
    "D": "####. #...# #...# #...# #...# #...# ####.",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".#### #.... #.... #..## #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# ##..# #.#.# #..## #...# #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "####. ....# ....# .###. ....# ....# ####.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": ".###. #.... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ....# .###.",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    "-": "..... ..... ..... .###. ..... ..... .....",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    "'": "..#.. ..#.. .#... ..... ..... ..... .....",
    " ": "..... ..... ..... ..... ..... ..... .....",
}
GLYPH_W, GLYPH_H = 5, 7

# Flag colours of the demo countries, as bands: (x0, y0, x1, y1) in fractions, and RGB.
RED, WHITE, BLUE, GREEN, YELLOW, NAVY = (
    (206, 17, 38), (255, 255, 255), (0, 57, 166), (0, 146, 70), (255, 205, 0), (1, 33, 105))
FLAGS: dict[str, list[tuple[tuple[float, float, float, float], tuple[int, int, int]]]] = {
    "TH": [((0, 0, 1, 1), RED), ((0, 1 / 6, 1, 5 / 6), WHITE), ((0, 1 / 3, 1, 2 / 3), NAVY)],
    "CL": [((0, 0, 1, 0.5), WHITE), ((0, 0.5, 1, 1), (213, 43, 30)), ((0, 0, 1 / 3, 0.5), BLUE)],
    "NZ": [((0, 0, 1, 1), NAVY), ((0, 0.2, 0.5, 0.3), RED), ((0.2, 0, 0.3, 0.5), RED),
           ((0.7, 0.3, 0.76, 0.4), RED), ((0.8, 0.55, 0.86, 0.65), RED)],
    "IT": [((0, 0, 1 / 3, 1), GREEN), ((1 / 3, 0, 2 / 3, 1), WHITE), ((2 / 3, 0, 1, 1), RED)],
    "RU": [((0, 0, 1, 1 / 3), WHITE), ((0, 1 / 3, 1, 2 / 3), BLUE), ((0, 2 / 3, 1, 1), RED)],
    "VN": [((0, 0, 1, 1), (218, 37, 29)), ((0.42, 0.3, 0.58, 0.7), YELLOW)],
}


def yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """BT.601 limited-range YUV of an sRGB colour."""
    r, g, b = (c / 255 for c in rgb)
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    return round(y), round(u), round(v)


def flag_of(country_code: str) -> list:
    bands = FLAGS.get(country_code.upper())
    if bands is None:  # any other country: a colour of its own, from its code
        seed = zlib.crc32(country_code.encode())
        colour = (seed & 0xFF, (seed >> 8) & 0xFF, (seed >> 16) & 0xFF)
        bands = [((0, 0, 1, 1), colour)]
    return bands


class Planes:
    """Y, U and V planes of a width x height 4:2:0 picture, rows of `line_size` bytes."""

    def __init__(self, width: int, height: int, line_sizes: tuple[int, int, int]) -> None:
        self.width, self.height = width, height
        self.line_sizes = line_sizes
        self.planes = [bytearray(line_sizes[0] * height),
                       bytearray(line_sizes[1] * (height // 2)),
                       bytearray(line_sizes[2] * (height // 2))]

    def fill(self, x0: int, y0: int, x1: int, y1: int, rgb: tuple[int, int, int]) -> None:
        values = yuv(rgb)
        x0, x1 = max(0, x0) & ~1, min(self.width, x1) & ~1
        y0, y1 = max(0, y0) & ~1, min(self.height, y1) & ~1
        for index, value in enumerate(values):
            shift = 0 if index == 0 else 1
            plane, line = self.planes[index], self.line_sizes[index]
            row = bytes([value]) * ((x1 - x0) >> shift)
            for y in range(y0 >> shift, y1 >> shift):
                start = y * line + (x0 >> shift)
                plane[start:start + len(row)] = row

    def text(self, x: int, y: int, text: str, scale: int, rgb: tuple[int, int, int]) -> None:
        for i, char in enumerate(text.upper()):
            glyph = _GLYPHS.get(char, _GLYPHS[" "]).replace(" ", "")
            gx = x + i * (GLYPH_W + 1) * scale
            for row in range(GLYPH_H):
                for col in range(GLYPH_W):
                    if glyph[row * GLYPH_W + col] == "#":
                        self.fill(gx + col * scale, y + row * scale,
                                  gx + (col + 1) * scale, y + (row + 1) * scale, rgb)


def text_width(text: str, scale: int) -> int:
    return len(text) * (GLYPH_W + 1) * scale - scale


class TestCard:
    """The card of one room; `planes_at(t)` gives the planes with the clock at Unix time t."""

    def __init__(self, width: int, height: int, line_sizes: tuple[int, int, int],
                 title: str, country_code: str) -> None:
        self.card = Planes(width, height, line_sizes)
        flag_h = height * 2 // 3
        for (fx0, fy0, fx1, fy1), rgb in flag_of(country_code):
            self.card.fill(int(fx0 * width), int(fy0 * flag_h), int(fx1 * width),
                           int(fy1 * flag_h), rgb)
        self.card.fill(0, flag_h, width, height, (24, 24, 32))
        scale = max(2, min(height // 60, (width - 40) // max(1, text_width(title, 1))))
        self.card.text((width - text_width(title, scale)) // 2, flag_h + height // 24, title,
                       scale, WHITE)
        self.clock_scale = max(2, height // 90)
        self.clock_y = height - GLYPH_H * self.clock_scale - height // 24
        self.clock_w = text_width("00:00:00 UTC", self.clock_scale)
        self.clock_x = (width - self.clock_w) // 2
        self._second: int | None = None
        self._planes: list[bytes] | None = None

    def planes_at(self, t: float) -> list[bytes] | None:
        """The planes for time t, or None when they did not change since the last call."""
        second = int(t)
        if second == self._second:
            return None
        self._second = second
        frame = Planes(self.card.width, self.card.height, self.card.line_sizes)
        frame.planes = [bytearray(p) for p in self.card.planes]
        clock = time.strftime("%H:%M:%S UTC", time.gmtime(second))
        frame.text(self.clock_x, self.clock_y, clock, self.clock_scale, YELLOW)
        # A dot that blinks with the seconds: the picture is visibly live.
        dot = self.clock_scale * 3
        if second % 2 == 0:
            frame.fill(self.clock_x - 3 * dot, self.clock_y + dot // 2,
                       self.clock_x - 2 * dot, self.clock_y + dot * 3 // 2, RED)
        self._planes = [bytes(p) for p in frame.planes]
        return self._planes
