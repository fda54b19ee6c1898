"""A key is redacted in every encoding a server or library may echo it."""
import base64
import logging
from urllib.parse import quote, quote_plus

import pytest

from mer_toolbox.priors.apikey import RedactingFilter, Secret

KEY = 'AIza-canary_KEY+/=0123456789'


def b64(text: str, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(text.encode()).decode()


@pytest.mark.parametrize('echo', [
    KEY,
    quote(KEY), quote(KEY, safe=''), quote_plus(KEY),
    quote(KEY, safe='').lower(),
    ''.join(f'%{b:02X}' for b in KEY.encode()),
    f'https://teacher.example/v1?key={quote(KEY, safe="")}&x=1',
    b64(KEY), b64(KEY, urlsafe=True),
    b64(f'user:{KEY}'), b64(f'ab:{KEY}'), b64(f'a:{KEY}:z', urlsafe=True),
    KEY.encode().hex(),
])
def test_every_encoding_of_the_key_is_redacted(echo):
    text = Secret(KEY).redact(f'server said: {echo} (end)')
    assert '<redacted>' in text
    decoded = [text]
    for part in text.split():
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded.append(decode(part + '==').decode('utf-8', 'ignore'))
            except ValueError:
                pass
    assert not any(KEY in d or quote(KEY, safe='') in d for d in decoded)


def test_ordinary_text_is_left_alone():
    assert Secret(KEY).redact('label happy, AU 6 and 12') == \
        'label happy, AU 6 and 12'


def test_log_filter_redacts_encoded_forms():
    record = logging.LogRecord('t', logging.INFO, __file__, 1,
                               'GET %s', (f'/x?key={quote(KEY, safe="")}',),
                               None)
    RedactingFilter([Secret(KEY)]).filter(record)
    assert quote(KEY, safe='') not in record.getMessage()
