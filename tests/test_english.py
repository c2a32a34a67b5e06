"""The interface in English: the catalogue holds every string of the code, each translated,
and the compiled catalogue is the catalogue; the newest pages read in English, with only
names and data left in Chinese."""

import gettext
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import Enterprise, Mandate, User

from .helpers import PASSWORD, totp_now
from .schema_values import credit_code

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
#: How the catalogue is made (README: "Also in English"); the failure messages repeat it.
MAKEMESSAGES = [
    "makemessages", "-l", "en",
    "--ignore=.venv", "--ignore=node_modules", "--ignore=tests", "--ignore=bench",
]  # fmt: skip
REMAKE = (
    "DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python manage.py "
    + " ".join(MAKEMESSAGES)
    + ", translate, then .venv/bin/python manage.py compilemessages -l en"
    " --ignore=.venv --ignore=node_modules"
)


# --- the catalogue ---------------------------------------------------------------------------
def _unquote(line: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes[m.group(1)], line.strip()[1:-1])


def read_po(path: Path) -> list[dict]:
    """The entries of a PO file: their msgctxt, msgid, msgid_plural, msgstr forms, flags and
    whether they are obsolete (#~), enough to judge a catalogue without a PO library."""
    entries = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry = {"flags": set(), "obsolete": False, "msgstr": [], "msgid": None}
        key = None
        for line in block.splitlines():
            if line.startswith("#~"):
                entry["obsolete"] = True
                line = line[2:].strip()
            elif line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
                continue
            elif line.startswith("#") or not line.strip():
                continue
            keyword = re.match(r"(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")$", line)
            if keyword:
                key, text = keyword.groups()
                if key.startswith("msgstr"):
                    entry["msgstr"].append(_unquote(text))
                else:
                    entry[key] = _unquote(text)
            elif line.startswith('"') and key is not None:
                if key.startswith("msgstr"):
                    entry["msgstr"][-1] += _unquote(line)
                else:
                    entry[key] += _unquote(line)
        if entry["msgid"]:  # not the header
            entries.append(entry)
    return entries


def _key(entry) -> tuple:
    return (entry.get("msgctxt"), entry["msgid"], entry.get("msgid_plural"))


def _listed(entries, most=10) -> str:
    shown = [e["msgid"] for e in entries[:most]]
    return "\n  ".join(shown) + ("\n  …" if len(entries) > most else "")


def test_every_entry_of_the_english_catalogue_is_translated():
    entries = read_po(PO)
    assert len(entries) > 600, "the catalogue could not be read"
    untranslated = [e for e in entries if not e["obsolete"] and not all(e["msgstr"])]
    fuzzy = [e for e in entries if not e["obsolete"] and "fuzzy" in e["flags"]]
    obsolete = [e for e in entries if e["obsolete"]]
    assert not untranslated, f"{PO} has untranslated entries:\n  {_listed(untranslated)}"
    assert not fuzzy, f"{PO} has fuzzy entries (check and unmark them):\n  {_listed(fuzzy)}"
    assert not obsolete, f"{PO} keeps obsolete (#~) entries:\n  {_listed(obsolete)}"


def test_the_catalogue_holds_every_string_of_the_code_and_no_other(tmp_path):
    """makemessages, run on a copy of the source, finds exactly the catalogue's strings: a new
    string in the code cannot be left out of it (and so untranslated), nor an old one kept."""
    copy = tmp_path / "src"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", "tests", "bench", "var", "__pycache__", ".*_cache",
            ".hypothesis", "test-artifacts",
        ),
    )  # fmt: skip
    # No settings: the copy's own locale/ folder is the only catalogue it can write to.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    run = subprocess.run(
        [sys.executable, "-m", "django", *MAKEMESSAGES],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    fresh = {_key(e): e for e in read_po(copy / PO.relative_to(ROOT)) if not e["obsolete"]}
    ours = {_key(e): e for e in read_po(PO) if not e["obsolete"]}
    missing = [fresh[k] for k in fresh.keys() - ours.keys()]
    gone = [ours[k] for k in ours.keys() - fresh.keys()]
    assert not missing, f"strings of the code missing from {PO}:\n  {_listed(missing)}\n{REMAKE}"
    assert not gone, f"strings of {PO} no longer in the code:\n  {_listed(gone)}\n{REMAKE}"


def test_the_compiled_catalogue_is_the_catalogue(tmp_path):
    """django.mo says what django.po says: compiled again (with the placeholder checks of
    compilemessages), the messages are the same."""
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "msgfmt is missing: install gettext (scripts/setup-test-env.sh does)"
    compiled = tmp_path / "django.mo"
    run = subprocess.run(
        [msgfmt, "--check-format", "-o", str(compiled), str(PO)], capture_output=True, text=True
    )
    assert run.returncode == 0, f"{PO} does not compile:\n{run.stderr}"
    with compiled.open("rb") as fresh, MO.open("rb") as committed:
        expected = gettext.GNUTranslations(fresh)._catalog
        actual = gettext.GNUTranslations(committed)._catalog
    stale = sorted(str(k) for k in expected.keys() ^ actual.keys()) + sorted(
        str(k) for k in expected.keys() & actual.keys() if expected[k] != actual[k]
    )
    assert not stale, f"{MO} is older than {PO}; differing: {stale[:10]}\n{REMAKE}"


# --- the pages -------------------------------------------------------------------------------
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")
#: What a person reads without seeing it: labels read aloud and tooltips.
READ_ATTRIBUTES = {"aria-label", "title", "alt", "placeholder"}


class _Text(HTMLParser):
    """The text a person reads or hears: not scripts or styles, not what is marked as being
    in Chinese on purpose (the language switch, lang="zh-hans")."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []

    def _skipping(self) -> bool:
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skip = tag in ("script", "style") or (attrs.get("lang") or "").startswith("zh")
        if tag not in ("meta", "link", "input", "br", "img", "hr"):
            self.stack.append((tag, skip))
        if not (skip or self._skipping()):
            self.parts += [v for k, v in attrs.items() if k in READ_ATTRIBUTES and v]

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self._skipping():
            self.parts.append(data)


def chinese_left(html: str, data=()) -> list[str]:
    """The pieces of a page's text still in Chinese once the given names and data are taken
    out."""
    reader = _Text()
    reader.feed(html)
    text = " ".join(reader.parts)
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    return [piece.strip() for piece in re.split(r"\n", text) if HAN.search(piece)]


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def assert_english(response, data=()):
    html = response.content.decode()
    assert 'lang="en"' in html, html[:300]
    left = chinese_left(html, data)
    assert not left, f"{response.wsgi_request.path} still speaks Chinese: {left}"


ENTERPRISE = "深圳市示例科技有限公司"
REP_ID = "110105198001010016"
REP_MOBILE = "13922220000"
CODES = [credit_code(body) for body in ("91440300MA5F00001", "91330100MA2B00002",
                                        "91110000MA0C00003", "91440100MA9D00004")]  # fmt: skip


@pytest.mark.django_db
def test_registration_with_a_texted_code_reads_in_english(client, catalogue):
    from notifications.senders import outbox

    english(client)
    assert_english(client.get("/accounts/register/"))
    form = {
        "username": "agent", "real_name": "赵经办", "id_number": "110101199001010015",
        "mobile": "13911110000", "password1": PASSWORD, "password2": PASSWORD,
        "account_type": "enterprise", "credit_code": CODES[0], "enterprise_name": ENTERPRISE,
    }  # fmt: skip
    started = client.post("/accounts/register/", form)
    assert started.status_code == 302, started.content.decode()[:2000]
    page = client.get(started["Location"])
    assert_english(page)
    wrong = client.post(started["Location"], {"code": "000000"})
    assert wrong.status_code == 400 and "The code is not correct" in wrong.content.decode()
    assert_english(wrong)
    # The text message is in the language the person registered in.
    texted = outbox.tail(5)[-1]
    code = re.search(r"registration code for the one-stop service portal is (\d{6})", texted)
    assert code, texted
    assert client.post(started["Location"], {"code": code.group(1)}).status_code == 302
    # (The home page it lands on lists the catalogue: data. The account page shows the flash.)
    done = client.get("/accounts/me/")
    assert "You are registered." in done.content.decode()
    assert_english(done, data=["赵经办", ENTERPRISE])


@pytest.mark.django_db
def test_my_account_with_mandates_reads_in_english(client, catalogue):
    enterprise = Enterprise.objects.create(
        credit_code=CODES[0], name=ENTERPRISE, legal_rep_name="林法人",
        legal_rep_id_number=REP_ID, legal_rep_mobile=REP_MOBILE,
    )  # fmt: skip
    agent = User.objects.create_user(
        "agent", password=PASSWORD, real_name="赵经办", id_number="110101199001010015"
    )
    other = Enterprise.objects.create(credit_code=CODES[1], name="杭州示例餐饮有限公司")
    Mandate.objects.create(agent=agent, enterprise=other)
    confirmed = Mandate.objects.create(agent=agent, enterprise=Enterprise.objects.create(
        credit_code=CODES[2], name="北京示例商贸有限公司"
    ))  # fmt: skip
    confirmed.verify(Mandate.Proof.WINDOW)
    confirmed.save()
    rep = User.objects.create_user(
        "rep", password=PASSWORD, real_name="林法人", id_number=REP_ID, mobile=REP_MOBILE
    )
    Mandate.objects.create(agent=agent, enterprise=enterprise)
    names = ["赵经办", "林法人", ENTERPRISE, "杭州示例餐饮有限公司", "北京示例商贸有限公司"]
    english(client).force_login(agent)
    page = client.get("/accounts/me/")
    assert "Awaiting confirmation" in page.content.decode()
    assert_english(page, names)
    # Asking to act for one more enterprise: the flash says what happens next.
    asked = client.post(
        "/accounts/me/",
        {"credit_code": CODES[3], "enterprise_name": "广州示例物流有限公司"},
        follow=True,
    )
    assert "market regulation service window" in asked.content.decode()
    assert_english(asked, [*names, "广州示例物流有限公司"])
    client.force_login(rep)
    page = client.get("/accounts/me/")
    assert "Representatives awaiting your confirmation" in page.content.decode()
    assert_english(page, names)


@pytest.mark.django_db
def test_mandate_checks_and_the_second_factor_read_in_english(client, catalogue, make_staff):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    agent = User.objects.create_user("agent", password=PASSWORD, real_name="赵经办")
    Mandate.objects.create(
        agent=agent, enterprise=Enterprise.objects.create(credit_code=CODES[0], name=ENTERPRISE)
    )
    clerk = make_staff("market_regulation")
    english(client).force_login(clerk)
    page = client.get("/staff/mandates/")
    assert "Checking authorisations to act for enterprises" in page.content.decode()
    assert_english(page, ["赵经办", ENTERPRISE])
    refused = client.post(
        f"/staff/mandates/{Mandate.objects.get().pk}/decide/", {"decision": "refuse"}, follow=True
    )
    assert_english(refused, ["赵经办", ENTERPRISE])
    # Setting the second factor up, then giving it at the next sign-in.
    setup = client.get("/accounts/second-factor/setup/")
    assert "Set up two-step verification" in setup.content.decode()
    assert_english(setup)
    device = TOTPDevice.objects.get(user=clerk)
    turned_on = client.post(
        "/accounts/second-factor/setup/", {"token": totp_now(device)}, follow=True
    )
    assert_english(turned_on)
    second = english(type(client)())
    second.post("/accounts/login/", {"username": clerk.username, "password": PASSWORD})
    page = second.get("/accounts/second-factor/")
    assert "Two-step verification" in page.content.decode()
    assert_english(page)
    wrong = second.post("/accounts/second-factor/", {"token": "000000"})
    assert wrong.status_code == 400
    assert_english(wrong)
