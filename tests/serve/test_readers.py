import io

from narratives.serve.readers import read_articles


def test_reads_txt_jsonl_csv_and_folders(articles_dir):
    items = list(read_articles([str(articles_dir)]))
    ids = [i["id"] for i in items if "error" not in i]
    assert {"c1", "c2", "j1", "j2", "j3", "state_media", "neutral", "ok1", "ok2"} <= set(ids)
    j1 = next(i for i in items if i.get("id") == "j1")
    assert j1["extra"] == {"outlet": "Example Daily", "date": "2026-01-05"}
    assert j1["source"].endswith("batch.jsonl:1")


def test_malformed_jsonl_lines_become_errors_and_the_rest_is_read(articles_dir):
    items = list(read_articles([str(articles_dir / "malformed.jsonl")]))
    assert [i.get("id") for i in items if "error" not in i] == ["ok1", "ok2"]
    errors = [i["error"] for i in items if "error" in i]
    assert any("malformed.jsonl:2: malformed JSON" in e for e in errors)
    assert any("malformed.jsonl:4: expected a JSON object" in e for e in errors)
    assert any("malformed.jsonl:5: missing field 'text'" in e for e in errors)


def test_missing_csv_column_names_file_and_column(articles_dir):
    (item,) = read_articles([str(articles_dir / "missing_column.csv")])
    assert item["error"].endswith("missing_column.csv: missing column 'text' (columns: id, body)")
    (ok,) = read_articles([str(articles_dir / "missing_column.csv")], text_field="body")
    assert ok["id"] == "x1" and ok["text"] == "Some text."


def test_non_utf8_and_unknown_files_are_errors(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 in Sarajevo".encode("latin-1"))
    (tmp_path / "notes.docx").write_bytes(b"PK")
    items = list(read_articles([str(tmp_path / "latin1.txt"), str(tmp_path / "notes.docx"), str(tmp_path / "gone.txt")]))
    assert "latin1.txt: not valid UTF-8" in items[0]["error"]
    assert "unsupported file type .docx" in items[1]["error"]
    assert items[2]["error"].endswith("gone.txt: file not found")


def test_bom_and_crlf_and_stdin(tmp_path):
    (tmp_path / "bom.csv").write_bytes("\ufeffid,text\r\nb1,\"Hello\r\nworld\"\r\n".encode("utf-8"))
    (item,) = read_articles([str(tmp_path / "bom.csv")])
    assert item["id"] == "b1" and item["text"] == "Hello\r\nworld"
    stdin = io.BytesIO(b'\xef\xbb\xbf{"id": "s1", "text": "from a pipe"}\n')
    (item,) = read_articles(["-"], stdin=stdin)
    assert item["id"] == "s1" and item["source"] == "<stdin>:1"
