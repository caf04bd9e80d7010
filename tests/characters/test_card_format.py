"""Reading and writing card files: chunk positions and types, payload quirks, caps, round trips."""

from __future__ import annotations

import base64
import io
import json
import struct
import zipfile

import pytest
from PIL import Image

from pluma_core.cards import CardLimits, card_json, embed_card, read_card
from pluma_core.cards.payload import parse_chunk_payload
from pluma_core.cards.png import card_text_chunks, make_chunk
from pluma_core.errors import PayloadTooLarge, Unprocessable
from pluma_core.testing.cards import (
    b64,
    card_png,
    itxt_chunk,
    png_with,
    text_chunk,
    tiny_image,
    v2_card,
    v3_card,
    ztxt_chunk,
)

KEYWORDS = frozenset({"chara", "ccv3"})


def chunks_of(png: bytes) -> dict[str, dict]:
    return {c.keyword: parse_chunk_payload(c.text) for c in card_text_chunks(png, KEYWORDS)}


def chunk_types(png: bytes) -> list[bytes]:
    types, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        types.append(png[pos + 4 : pos + 8])
        pos += 12 + length
    return types


def test_ccv3_only_card_is_read_as_v3() -> None:
    parsed = read_card(card_png(v3_card("Nova", nickname="Novi"), keyword="ccv3"))
    assert parsed.card.name == "Nova"
    assert parsed.card.source_spec == "v3"
    assert parsed.card.data["nickname"] == "Novi"
    assert parsed.warnings == []


def test_disagreeing_chunks_keep_ccv3_by_default_and_say_so() -> None:
    png = png_with(after_idat=[text_chunk("chara", b64(v2_card("Old name"))),
                               text_chunk("ccv3", b64(v3_card("New name")))])
    parsed = read_card(png)
    assert parsed.card.name == "New name"
    assert any("disagree" in w and "ccv3" in w for w in parsed.warnings)


def test_disagreeing_chunks_keep_the_newer_modification_date() -> None:
    png = png_with(after_idat=[
        text_chunk("ccv3", b64(v3_card("Stale", modification_date=1_600_000_000))),
        text_chunk("chara", b64(v2_card("Fresh", modification_date=1_700_000_000))),
    ])
    parsed = read_card(png)
    assert parsed.card.name == "Fresh"
    assert any("kept chara" in w for w in parsed.warnings)


def test_agreeing_chunks_give_no_warning() -> None:
    card = v2_card("Same")
    same_v3 = {**card, "spec": "chara_card_v3"}
    png = png_with(after_idat=[text_chunk("chara", b64(card)), text_chunk("ccv3", b64(same_v3))])
    assert read_card(png).warnings == []


def test_invalid_ccv3_falls_back_to_chara() -> None:
    png = png_with(after_idat=[text_chunk("ccv3", b"!!not base64 or json!!"),
                               text_chunk("chara", b64(v2_card("Kept")))])
    parsed = read_card(png)
    assert parsed.card.name == "Kept"
    assert any("ccv3" in w for w in parsed.warnings)


def test_raw_utf8_json_in_text_chunk() -> None:
    card = v2_card("Zoë", description="Café — 東京 ✓")
    png = png_with(after_idat=[text_chunk("chara", json.dumps(card, ensure_ascii=False).encode("utf-8"))])
    parsed = read_card(png)
    assert parsed.card.name == "Zoë"
    assert parsed.card.data["description"] == "Café — 東京 ✓"


def test_utf8_bom_inside_base64_and_in_raw_json() -> None:
    raw = json.dumps(v2_card("Bommy")).encode("utf-8")
    for payload in (base64.b64encode(b"\xef\xbb\xbf" + raw), b"\xef\xbb\xbf" + raw):
        assert read_card(png_with(after_idat=[text_chunk("chara", payload)])).card.name == "Bommy"
    assert read_card(b"\xef\xbb\xbf" + raw).card.name == "Bommy"


def test_base64_without_padding_and_with_line_breaks() -> None:
    encoded = b64(v2_card("Wrapped", description="x" * 301)).rstrip(b"=")
    wrapped = b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    assert read_card(png_with(after_idat=[text_chunk("chara", wrapped)])).card.name == "Wrapped"


def test_utf8_read_as_latin1_is_repaired() -> None:
    # A tool decoded the UTF-8 JSON as Latin-1 and wrote that text back out as UTF-8.
    mangled = json.dumps(v2_card("Renée"), ensure_ascii=False).encode("utf-8").decode("latin-1").encode("utf-8")
    assert read_card(png_with(after_idat=[text_chunk("chara", base64.b64encode(mangled))])).card.name == "Renée"


def test_card_after_idat_and_after_a_software_chunk() -> None:
    png = png_with(after_idat=[text_chunk("Software", b"SomeEditor 1.0"), text_chunk("chara", b64(v2_card("Late")))])
    types = chunk_types(png)
    assert types.index(b"IDAT") < types.index(b"tEXt")
    assert read_card(png).card.name == "Late"


def test_card_before_idat_in_ztxt_and_itxt_with_odd_keyword_case() -> None:
    assert read_card(png_with(before_idat=[ztxt_chunk("Chara", b64(v2_card("Zipped")))])).card.name == "Zipped"
    itxt = itxt_chunk("CCV3", json.dumps(v3_card("Intl ✓")).encode("utf-8"), compressed=True)
    assert read_card(png_with(before_idat=[itxt])).card.name == "Intl ✓"


def test_v1_card_is_wrapped_and_keeps_its_root_keys() -> None:
    v1 = {"name": "Vee", "description": "d", "personality": "p", "scenario": "s", "first_mes": "f",
          "mes_example": "m", "creatorcomment": "notes", "talkativeness": "0.5", "fav": False, "chat": "c"}
    card = read_card(json.dumps(v1).encode()).card
    assert card.source_spec == "v1"
    assert card.data["creator_notes"] == "notes"
    assert card.data["extensions"] == {"talkativeness": "0.5", "fav": False}
    out = card_json(card, "v2")
    assert out["spec"] == "chara_card_v2"
    assert {k: out[k] for k in v1} == v1


def test_v2_fields_mirrored_at_the_root_are_adopted() -> None:
    obj = {"spec": "chara_card_v2", "spec_version": "2.0", "name": "Root", "description": "root desc",
           "data": {"name": "Root", "first_mes": "hello"}}
    card = read_card(json.dumps(obj).encode()).card
    assert card.data["description"] == "root desc"
    assert card.data["alternate_greetings"] == [] and card.data["extensions"] == {}


def test_writer_emits_both_chunks_replacing_old_ones() -> None:
    card = v2_card("Writer", extensions={"depth_prompt": {"prompt": "p", "depth": 4}, "x/y": [1, {"z": None}]},
                   future_field={"nested": True})
    card["root_unknown"] = "keep me"
    old = png_with(before_idat=[ztxt_chunk("CCV3", b64(v3_card("Outdated")))],
                   after_idat=[text_chunk("Software", b"x"), text_chunk("chara", b64(card))])
    parsed = read_card(json.dumps(card).encode())
    out = embed_card(old, parsed.card)
    texts = [c for c in card_text_chunks(out, KEYWORDS)]
    assert [(c.kind, c.keyword) for c in texts] == [(b"tEXt", "chara"), (b"tEXt", "ccv3")]
    chunks = chunks_of(out)
    assert chunks["chara"]["spec"] == "chara_card_v2" and chunks["ccv3"]["spec"] == "chara_card_v3"
    strip = lambda o: {k: v for k, v in o.items() if k not in ("spec", "spec_version")}  # noqa: E731
    assert strip(chunks["chara"]) == strip(chunks["ccv3"])
    assert chunks["chara"]["data"]["extensions"] == card["data"]["extensions"]
    assert chunks["chara"]["data"]["future_field"] == {"nested": True}
    assert chunks["chara"]["root_unknown"] == "keep me"
    assert chunks["chara"]["name"] == "Writer"  # V1 mirror for old readers
    assert b"Software" in out


def test_written_card_is_read_by_pillow() -> None:
    out = embed_card(tiny_image(), read_card(json.dumps(v2_card("Interop ✓")).encode()).card)
    image = Image.open(io.BytesIO(out))
    image.load()
    text = image.text  # type: ignore[attr-defined]
    assert json.loads(base64.b64decode(text["chara"]))["data"]["name"] == "Interop ✓"
    assert json.loads(base64.b64decode(text["ccv3"]))["spec"] == "chara_card_v3"


def test_png_without_card_is_422() -> None:
    with pytest.raises(Unprocessable, match="no character card"):
        read_card(tiny_image())


def test_damaged_pngs_are_422() -> None:
    good = card_png(v2_card())
    with pytest.raises(Unprocessable, match="truncated"):
        read_card(good[:-20])
    broken = bytearray(good)
    broken[-20] ^= 0xFF  # inside the card chunk's data: CRC no longer matches
    with pytest.raises(Unprocessable, match="CRC"):
        read_card(bytes(broken))


def test_caps_give_413_and_422_not_memory_exhaustion() -> None:
    limits = CardLimits(file_bytes=1 << 20, chunk_bytes=64 << 10, text_bytes=256 << 10, image_pixels=10_000)
    bomb = ztxt_chunk("chara", b"A" * (50 << 20))  # 50 MiB of text in about 50 KiB
    with pytest.raises(PayloadTooLarge, match="inflates"):
        read_card(png_with(after_idat=[bomb]), limits)
    with pytest.raises(PayloadTooLarge):
        read_card(png_with(after_idat=[text_chunk("chara", b"A" * (65 << 10))]), limits)
    with pytest.raises(PayloadTooLarge):
        read_card(b"{" + b" " * (1 << 20) + b"}", limits)
    # A header that promises 20000 x 20000 pixels is refused before anything is decoded.
    ihdr = make_chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
    huge = b"\x89PNG\r\n\x1a\n" + ihdr + text_chunk("chara", b64(v2_card())) + make_chunk(b"IEND", b"")
    with pytest.raises(Unprocessable, match="pixels"):
        read_card(huge)
    # A lying chunk length never allocates: it is a truncated file.
    liar = b"\x89PNG\r\n\x1a\n" + struct.pack(">I4s", 0x7FFFFFF0, b"IDAT") + b"xx"
    with pytest.raises(Unprocessable):
        read_card(liar)


def test_not_a_card_json_is_422() -> None:
    with pytest.raises(Unprocessable):
        read_card(json.dumps({"entries": {"0": {"key": ["a"]}}}).encode())
    with pytest.raises(Unprocessable):
        read_card(b"GIF89a....")


def test_charx_card_and_icon() -> None:
    card = v3_card("Boxed", assets=[{"type": "icon", "uri": "embeded://assets/icon/images/main.png",
                                      "name": "main", "ext": "png"}])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("card.json", json.dumps(card))
        archive.writestr("assets/icon/images/main.png", tiny_image())
        archive.writestr("assets/other/x.bin", b"1")
    parsed = read_card(buffer.getvalue())
    assert parsed.container == "charx" and parsed.card.name == "Boxed"
    assert parsed.image is not None and parsed.image.startswith(b"\x89PNG")
    assert any("not kept" in w for w in parsed.warnings)


def test_chub_style_lorebook_entries_object_becomes_a_list() -> None:
    card = v2_card(character_book={"extensions": {}, "entries": {"1": {"keys": ["b"]}, "0": {"keys": ["a"]}}})
    data = read_card(json.dumps(card).encode()).card.data
    assert data["character_book"]["entries"] == [{"keys": ["a"]}, {"keys": ["b"]}]


def test_zlib_stream_that_is_not_zlib_is_422() -> None:
    bad = make_chunk(b"zTXt", b"chara\0\0" + b"not zlib at all")
    with pytest.raises(Unprocessable):
        read_card(png_with(after_idat=[bad]))
