"""Messages of unreadable JSON files (found feeding `optdist validate` a file with text after
its closing brace, told "a missing comma or quote?", and a folder, told "the path of a instance")."""

from __future__ import annotations

import pytest

from optdist.instance import InstanceError, load_instance
from tests.conftest import ROOT

MICRO = ROOT / "instances" / "tiny" / "micro-2x3-tight.json"


def test_text_after_the_document_is_named_as_such(tmp_path):
    f = tmp_path / "i.json"
    f.write_text(MICRO.read_text() + "\n{}\n")
    with pytest.raises(InstanceError, match=r"invalid JSON: Extra data \(fix: remove what follows the end of the "
                                            r"JSON document"):
        load_instance(f)


def test_an_article_fits_the_word(tmp_path):
    with pytest.raises(InstanceError, match=r"give the path of an instance \.json file"):
        load_instance(tmp_path)
    deep = tmp_path / "d.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(InstanceError, match="an instance file nests a few levels only"):
        load_instance(deep)


@pytest.mark.parametrize("content", [b"", b"  \n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_called_empty(tmp_path, content):
    f = tmp_path / "i.json"
    f.write_bytes(content)
    with pytest.raises(InstanceError, match=r"\(file\): empty \(fix: put an instance document in it"):
        load_instance(f)
