"""The prolog DOCTYPE is read, not searched for: CDATA and text that mention <!DOCTYPE are kept."""
from __future__ import annotations

import pytest

from ingest.doctype import BadDoctype, doctype_span, strip_doctype

FEED = b'<rss version="2.0"><channel><item><description><![CDATA[<!DOCTYPE x [ ]> kept]]></description></item></channel></rss>'


def test_doctype_in_the_prolog_goes_with_its_subset():
    content = b'<?xml version="1.0"?>\n<!-- c -->\n<?pi x?>\n<!DOCTYPE rss [<!ENTITY a "]>"> <!-- ]> --> <?p ]>?>]>\n' + FEED
    stripped, removed = strip_doctype(content)
    assert removed and stripped == b'<?xml version="1.0"?>\n<!-- c -->\n<?pi x?>\n\n' + FEED


def test_doctype_after_the_first_element_is_content():
    assert strip_doctype(FEED) == (FEED, False)
    assert strip_doctype(b"<?xml version='1.0'?>" + FEED) == (b"<?xml version='1.0'?>" + FEED, False)


def test_external_dtd_without_subset_and_lowercase():
    assert strip_doctype(b'<!doctype rss PUBLIC "-//N//DTD RSS 0.91//EN" "http://x/rss.dtd">' + FEED) == (FEED, True)


def test_utf16_prolog_doctype_is_removed_and_the_encoding_kept():
    text = '\ufeff<?xml version="1.0" encoding="utf-16"?><!DOCTYPE rss [<!ENTITY a "b">]>' + FEED.decode()
    stripped, removed = strip_doctype(text.encode("utf-16-le"))
    assert removed and stripped.decode("utf-16-le") == '\ufeff<?xml version="1.0" encoding="utf-16"?>' + FEED.decode()


@pytest.mark.parametrize("head", [b'<!DOCTYPE rss [<!ENTITY a "unterminated>', b"<!DOCTYPE rss [ <!-- never closed", b'<!DOCTYPE rss SYSTEM "never closed'])
def test_a_doctype_that_never_ends_is_an_error(head):
    with pytest.raises(BadDoctype):
        strip_doctype(head + FEED)


def test_no_doctype_no_span():
    assert doctype_span("<?xml version='1.0'?>\n<rss/>") is None and doctype_span("") is None
