"""Generated photos for the demo city (Pillow, nothing downloaded): per category
group a small street scene with the problem ("before": litter, parked bikes,
posters, a broken pavement…) and the same scene tidied ("after"), each with a
caption. A handful of files are stored once and shared by every demo photo row;
their names are fixed, so loading the demo again reuses them."""

from __future__ import annotations

import io
import random
from pathlib import Path

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageFont

from civportal.storage import photo_storage

SIZE = (640, 480)
THUMB = (360, 360)
FONTS = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
]
# group code -> (caption, English caption, the problem's colour)
GROUPS = {
    "HJWS": ("环境卫生", "sanitation", (120, 98, 60)),
    "GGZX": ("公共秩序", "public order", (40, 110, 170)),
    "SRJS": ("市容建设", "cityscape", (200, 60, 60)),
    "JCSS": ("基础设施", "infrastructure", (110, 110, 110)),
    "GYXC": ("公益宣传", "public notices", (190, 40, 40)),
    "XFAQ": ("消防安全", "fire safety", (210, 50, 30)),
    "FWSS": ("服务设施", "services", (60, 130, 90)),
    "WMXW": ("文明行为", "civility", (150, 80, 150)),
}
OTHER = ("现场问题", "finding", (160, 100, 60))


def _font(size: int):
    for path in FONTS:
        if Path(path).exists():
            try:
                return ImageFont.truetype(path, size), True
            except OSError:
                continue
    return ImageFont.load_default(size=size), False


def _scene(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    w, h = SIZE
    draw.rectangle([0, 0, w, 300], fill=(196, 218, 236))                  # sky
    for x in range(0, w, 130):                                            # buildings
        top = 70 + rng.randint(0, 80)
        draw.rectangle([x + 6, top, x + 120, 300], fill=(rng.randint(190, 225), rng.randint(180, 210), 170))
        for wy in range(top + 20, 280, 36):
            for wx in range(x + 18, x + 110, 30):
                draw.rectangle([wx, wy, wx + 16, wy + 20], fill=(120, 150, 175))
    draw.rectangle([0, 300, w, 360], fill=(205, 200, 190))                # pavement
    draw.rectangle([0, 360, w, h], fill=(95, 98, 102))                    # road
    for x in range(20, w, 90):
        draw.rectangle([x, 415, x + 50, 423], fill=(235, 235, 235))       # lane marks


def _problem(draw: ImageDraw.ImageDraw, code: str, colour, rng: random.Random) -> None:
    if code == "HJWS":      # litter piled by the kerb
        for _ in range(14):
            x, y = rng.randint(60, 560), rng.randint(300, 350)
            draw.ellipse([x, y, x + rng.randint(20, 46), y + rng.randint(14, 28)], fill=colour)
    elif code == "GGZX":    # bikes across the pavement
        for k in range(5):
            x = 120 + k * 70
            draw.ellipse([x, 318, x + 28, 346], outline=colour, width=4)
            draw.ellipse([x + 36, 318, x + 64, 346], outline=colour, width=4)
            draw.line([x + 14, 332, x + 50, 332], fill=colour, width=4)
    elif code in ("SRJS", "GYXC"):  # posters pasted on the wall / a faded board
        for _ in range(9):
            x, y = rng.randint(20, 580), rng.randint(150, 270)
            draw.rectangle([x, y, x + 34, y + 26], fill=colour if code == "SRJS" else (215, 190, 170))
    elif code == "JCSS":    # broken pavement and an open drain
        draw.polygon([(220, 310), (330, 305), (350, 345), (240, 352)], fill=(60, 60, 60))
        for k in range(6):
            draw.line([200 + k * 30, 300, 230 + k * 25, 358], fill=(40, 40, 40), width=3)
    elif code == "XFAQ":    # a car blocking the fire lane
        draw.rectangle([200, 300, 460, 352], fill=colour)
        draw.ellipse([220, 338, 260, 370], fill=(30, 30, 30))
        draw.ellipse([400, 338, 440, 370], fill=(30, 30, 30))
    elif code == "FWSS":    # a ramp blocked by boxes
        draw.polygon([(380, 360), (520, 300), (520, 360)], fill=(170, 170, 160))
        for k in range(3):
            draw.rectangle([400 + k * 34, 300 - k * 8, 430 + k * 34, 340], fill=(170, 130, 80))
    else:                   # people crossing against the light
        for k in range(3):
            x = 200 + k * 60
            draw.ellipse([x, 330, x + 20, 350], fill=colour)
            draw.rectangle([x + 4, 350, x + 16, 395], fill=colour)
        draw.rectangle([560, 250, 580, 300], fill=(40, 40, 40))
        draw.ellipse([563, 255, 577, 269], fill=(220, 40, 40))


def _tidy(draw: ImageDraw.ImageDraw, code: str) -> None:
    draw.rectangle([540, 306, 580, 352], fill=(40, 120, 70))              # a bin in its place
    draw.rectangle([536, 300, 584, 308], fill=(30, 90, 50))
    if code == "GGZX":
        for k in range(4):                                                # bikes parked in the bay
            draw.line([40 + k * 14, 318, 40 + k * 14, 350], fill=(40, 110, 170), width=5)


def render(code: str, after: bool) -> bytes:
    """One JPEG: the scene of category group ``code`` before or after rectification."""
    caption, english, colour = GROUPS.get(code, OTHER)
    rng = random.Random(f"{code}-demo")
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    _scene(draw, rng)
    if after:
        _tidy(draw, code)
    else:
        _problem(draw, code, colour, rng)
    font, cjk = _font(26)
    label = f"{'整改后' if after else '整改前'} · {caption}" if cjk else f"{'after' if after else 'before'} - {english}"
    draw.rectangle([0, 0, SIZE[0], 44], fill=(40, 120, 70) if after else (150, 40, 40))
    draw.text((14, 7), label, fill=(255, 255, 255), font=font)
    small, _ = _font(16)
    draw.text((SIZE[0] - 150, SIZE[1] - 26), "演示图片" if cjk else "demo image", fill=(230, 230, 230), font=small)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=78, optimize=True)
    return out.getvalue()


def _thumbnail(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data))
    image.thumbnail(THUMB)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=75)
    return out.getvalue()


def stored(codes) -> dict[tuple[str, bool], tuple[str, str, int]]:
    """{(group code, after): (image name, thumbnail name, image bytes)}: each file saved once under a
    fixed name (reused when it is there already)."""
    storage = photo_storage()
    out = {}
    for code in sorted(set(codes) | {"other"}):
        for after in (False, True):
            stem = f"photos/demo/{code.lower()}-{'after' if after else 'before'}"
            names, size = [], 0
            data = None
            for suffix in ("", "-thumb"):
                name = f"{stem}{suffix}.jpg"
                if not storage.exists(name):
                    data = data or render(code, after)
                    content = data if not suffix else _thumbnail(data)
                    name = storage.save(name, ContentFile(content))
                if not suffix:
                    size = storage.size(name)
                names.append(name)
            out[(code, after)] = (names[0], names[1], size)
    return out
