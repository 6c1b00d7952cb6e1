"""Recognise newsletter boilerplate: footers, unsubscribe blocks, "view in browser" lines."""
from __future__ import annotations

import re

# class/id fragments of elements that never hold the article itself
BOILERPLATE_ATTR = re.compile(
    r"(^|[\s_-])(footer|unsubscribe|preheader|preview-?text|view-?online|view-?in-?browser|webversion|"
    r"social|share|sharing|nav|navbar|navigation|menu|breadcrumbs?|sidebar|related|advert|ads|promo|"
    r"cookie|cookies|banner|subscribe|subscription|subscription-widget|signup|newsletter-signup|comments?|disclaimer)([\s_-]|$)"
    # Mailchimp's footer containers and the postal address block (hCard) every bulk mail must carry
    r"|templatefooter|footercontainer|mcnfooter|(^|\s)(vcard|adr|postal-?address|mailing-?address)(\s|$)",
    re.I,
)

# a paragraph that starts like this is the sender's postal address, not content
POSTAL_BLOCK = re.compile(r"^\W*(our (mailing|postal) address is|mailing address\s*:|postal address\s*:)", re.I)

# short lines that are furniture, wherever they appear
BOILERPLATE_LINE = re.compile(
    r"(view (this |the |it )?(e-?mail|newsletter|post|issue|message)?\s*(in|on) (your |a |the )?(web ?)?browser"
    r"|^(view|read) (it |this )?online\b|open in (your )?browser|having trouble (viewing|reading)"
    r"|unsubscribe|opt[ -]out|manage (your )?(e-?mail |subscription )?(preferences|subscriptions?|settings)"
    r"|update (your )?(e-?mail )?preferences|you (are|were) receiving this|you received this (e-?mail|message)"
    r"|this (e-?mail|message) was sent to|no longer (want|wish) to receive|forwarded (this|to you)"
    r"|add us to your address book|want to change how you receive these e-?mails|all rights reserved|^©|^copyright\b|privacy policy"
    r"|powered by (substack|buttondown|beehiiv|ghost|mailchimp|convertkit)"
    r"|^(share|tweet|forward) (this|on)\b|thanks for reading .{0,60}subscribe|subscribe for free|advertise with us)",
    re.I,
)

MAX_BOILERPLATE_LINE = 300  # a longer paragraph mentioning "unsubscribe" is content, not furniture


def is_boilerplate_line(text: str) -> bool:
    """True for a short paragraph that is newsletter furniture (see BOILERPLATE_LINE, POSTAL_BLOCK)."""
    return len(text) <= MAX_BOILERPLATE_LINE and bool(BOILERPLATE_LINE.search(text) or POSTAL_BLOCK.search(text))


_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|max-height\s*:\s*0(px)?\s*(;|$)|font-size\s*:\s*0(px)?\s*(;|$)"
    r"|opacity\s*:\s*0(\.0+)?\s*(;|$)",
    re.I,
)


def is_hidden_style(style: str) -> bool:
    """True for inline styles email templates use to hide preheaders."""
    return bool(_HIDDEN_STYLE.search(style))
