from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from workers.inputs import read_records, sample_path


def test_jsonl_lines_pass_through_as_bytes(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"id": "a", "text": "x"}\n\n{broken\n{"text": "y"}\n')
    assert list(read_records(path)) == [
        (1, b"a", b'{"id": "a", "text": "x"}'),
        (3, None, b"{broken"),
        (4, None, b'{"text": "y"}'),
    ]


def test_html_and_text_files_are_one_article(tmp_path: Path) -> None:
    (tmp_path / "p.html").write_text("<p>Hi</p>")
    (tmp_path / "p.txt").write_text("Hello")
    [(_, _, html)] = read_records(tmp_path / "p.html")
    [(_, _, text)] = read_records(tmp_path / "p.txt")
    assert orjson.loads(html)["html"] == "<p>Hi</p>"
    assert orjson.loads(text)["text"] == "Hello"


def test_html_file_in_declared_charset_is_decoded(tmp_path: Path) -> None:
    page = '<meta charset="windows-1251"><p>Привет мир</p>'
    (tmp_path / "ru.html").write_bytes(page.encode("cp1251"))
    [(_, _, value)] = read_records(tmp_path / "ru.html")
    assert "Привет мир" in orjson.loads(value)["html"]


def test_samples_ship_with_the_package() -> None:
    rows = [orjson.loads(v) for _, _, v in read_records(sample_path())]
    assert len(rows) == 4
    assert any("html" in r for r in rows) and sum("text" in r for r in rows) == 3


def test_directories_gzip_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip
    import io
    import sys

    from workers.errors import NotFound
    from workers.inputs import STDIN, expand

    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "b.jsonl.gz").write_bytes(gzip.compress(b'{"id": "g", "text": "x"}\n'))
    (tmp_path / "d" / "sub" / "a.txt").write_text("Hello")
    (tmp_path / "d" / "readme.md").write_text("not an article")
    files = expand([tmp_path / "d", STDIN])
    assert [f.name for f in files] == ["b.jsonl.gz", "a.txt", "-"]
    assert list(read_records(files[0])) == [(1, b"g", b'{"id": "g", "text": "x"}')]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"id": "s"}\n')))
    assert [key for _, key, _ in read_records(STDIN)] == [b"s"]
    with pytest.raises(NotFound, match="no such file"):
        expand([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFound, match="holds no article files"):
        expand([tmp_path / "empty"])


def test_an_html_page_keeps_its_own_site_name(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("<p>Hi</p>")
    [(_, _, value)] = read_records(tmp_path / "page.html")
    assert "source" not in orjson.loads(value)  # the page's og:site_name decides


def test_unreadable_files_and_directories_stop_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unreadable file was a PermissionError traceback after earlier records were
    published; an unreadable directory was skipped without a word."""
    import os

    from workers.errors import NotFound
    from workers.inputs import expand

    (tmp_path / "a.jsonl").write_text('{"id": "a", "text": "x"}\n')
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "b.jsonl").write_text('{"id": "b", "text": "x"}\n')
    real_access, real_scandir = os.access, os.scandir
    monkeypatch.setattr(
        os, "access", lambda p, mode: Path(p).name != "a.jsonl" and real_access(p, mode)
    )
    with pytest.raises(NotFound, match=r"cannot read .*a.jsonl: permission denied"):
        expand([tmp_path])
    monkeypatch.setattr(os, "access", real_access)

    def scandir(path: str) -> object:
        if Path(path).name == "sub":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(NotFound, match=r"cannot read .*sub: Permission denied"):
        expand([tmp_path])


def test_a_file_that_fails_mid_read_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.cli.records import _records
    from workers.errors import NotFound

    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "a", "text": "x"}\n')

    def broken(self: Path, *args: object, **kwargs: object) -> object:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(Path, "open", broken)
    with pytest.raises(NotFound, match=r"cannot read .*a.jsonl: Input/output error"):
        list(_records([path], 1024))


def test_names_that_are_not_utf8_are_shown_with_escapes() -> None:
    import os

    from workers.inputs import display

    assert display(Path(os.fsdecode(b"caf\xe9\x07.jsonl"))) == "caf\\xe9\\x07.jsonl"
    assert display(Path("Zoë.jsonl")) == "Zoë.jsonl"
