"""i18n: the student's language, and the harness's own words in it.

language() is the one place that decides: VMLABS_LANG, else the locale (LC_ALL, LC_MESSAGES,
LANG, in POSIX's order); "it" when it names Italian (it, it_IT.UTF-8), "en" otherwise.

The harness's own words go through gettext: `_("...")` where a string is used, `N_("...")`
where it is only stored (a table such as run.EXPLANATIONS, translated when it is read). The
catalogue is harness/locale/it/LC_MESSAGES/vmlabs.po; `make` compiles it with msgfmt into
BUILD/locale/, which gettext reads. Without the compiled file (a starter, Gradescope, a
machine without msgfmt) the .po is read directly: the same words either way.

The case files carry their own Italian (hint_it, lesson_it, demo_it, title_it, a mistake's
it): pick(english, italian) chooses between them.
"""
from __future__ import annotations

import ast
import functools
import gettext
from pathlib import Path

from . import settings

DOMAIN = "vmlabs"
LANGUAGES = ("en", "it")
HERE = Path(__file__).resolve().parent
PO = HERE / "locale" / "it" / "LC_MESSAGES" / f"{DOMAIN}.po"


def language(env=None) -> str:
    """ "it" or "en": VMLABS_LANG first, then the locale; English by default."""
    env = settings.variables() if env is None else env
    for name in ("VMLABS_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = (env.get(name) or "").strip().lower()
        if value:
            return "it" if value.split("_")[0].split(".")[0] == "it" else "en"
    return "en"


def pick(english: str, italian: str | None, lang: str | None = None) -> str:
    """The Italian when the student reads Italian and there is one, else the English."""
    return italian if (lang or language()) == "it" and italian else english


def read_po(path: Path) -> dict:
    """msgid -> msgstr of a .po file (the subset this catalogue uses: msgid, msgstr and their
    continuation lines, comments; untranslated and fuzzy entries are left out)."""
    messages, entry, key, fuzzy = {}, {}, None, False

    def flush():
        if entry.get("msgid") and entry.get("msgstr") and not fuzzy:
            messages[entry["msgid"]] = entry["msgstr"]
        entry.clear()

    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line or line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                flush()
                fuzzy = True
            elif not line:
                flush()
                fuzzy = False
            continue
        if line.startswith(("msgid ", "msgstr ")):
            key, _, line = line.partition(" ")
            if key == "msgid" and "msgid" in entry:
                flush()
            entry[key] = ""
        if key and line.startswith('"'):
            entry[key] += ast.literal_eval(line)
    return messages


class _FromPo(gettext.NullTranslations):
    def __init__(self, messages: dict):
        super().__init__()
        self._messages = messages

    def gettext(self, message):
        return self._messages.get(message, message)


def compiled_dir(env=None) -> Path:
    env = settings.current().env if env is None else env
    return Path(env.get("BUILD") or HERE.parent / "build").resolve() / "locale"


@functools.lru_cache(maxsize=None)
def translation(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    mo = compiled_dir() / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if mo.exists() and mo.stat().st_mtime >= PO.stat().st_mtime:
        return gettext.translation(DOMAIN, compiled_dir(), languages=[lang])
    return _FromPo(read_po(PO))


def _(message: str) -> str:
    """message in the student's language."""
    return translation(language()).gettext(message)


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is stored; _() translates it where read."""
    return message
