"""Analysis-time checks shared by the rules: names of environment variables and secrets.

Starlark has no regular expressions; these scan characters.
"""

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"

# Prefixes of well-known credential formats (GitHub, GitLab, AWS, Slack, JWT, npm, Docker Hub).
_SECRET_PREFIXES = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "AKIA", "ASIA", "xox", "eyJ", "npm_", "dckr_pat_"]

def is_env_name(s):
    """Whether `s` is a valid environment variable name.

    Args:
        s: the string to check.

    Returns:
        True for `[A-Za-z_][A-Za-z0-9_]*`.
    """
    if not s or s[0] in _DIGITS:
        return False
    for c in s.elems():
        if c not in _UPPER and c not in _LOWER and c not in _DIGITS and c != "_":
            return False
    return True

def looks_like_secret(s):
    """Whether `s` looks like a credential rather than the name of a variable.

    Args:
        s: the string to check.

    Returns:
        True for well-known token prefixes and long mixed letter/digit runs.
    """
    for p in _SECRET_PREFIXES:
        if s.startswith(p):
            return True
    letters = 0
    digits = 0
    for c in s.elems():
        if c in _DIGITS:
            digits += 1
        elif c in _UPPER or c in _LOWER:
            letters += 1

    # Long runs of mixed letters and digits without word separators are tokens, not names.
    if len(s) >= 20 and digits >= 4 and letters >= 4 and s.count("_") < 2:
        return True
    if len(s) >= 32 and not is_env_name(s):
        return True
    return False

def is_digest(s):
    """Whether s is a digest pin: "sha256:" and 64 lower-case hex digits.

    Args:
        s: the string to check.

    Returns:
        True for a well-formed sha256 digest.
    """
    if not s.startswith("sha256:") or len(s) != 71:
        return False
    for c in s[7:].elems():
        if c not in "0123456789abcdef":
            return False
    return True

def is_host(s):
    """Whether `s` is host[:port] with the characters registries use.

    Args:
        s: the string to check.

    Returns:
        True when it can be a registry host.
    """
    if not s:
        return False
    for c in s.elems():
        if c not in _LOWER and c not in _UPPER and c not in _DIGITS and c not in ".-:[]_":
            return False
    if s.startswith(".") or s.startswith("-") or s.startswith(":"):
        return False
    return True

def is_kebab(s):
    """Whether `s` is a WIT/WAC identifier: lowercase words joined by single dashes.

    Args:
        s: the string to check.

    Returns:
        True for kebab-case identifiers.
    """
    if not s or s[0] == "-" or s[-1] == "-" or "--" in s:
        return False
    for c in s.elems():
        if c not in _LOWER and c not in _DIGITS and c != "-":
            return False
    return s[0] in _LOWER

def to_kebab(s):
    """Converts `auth_service` / `AuthService` to `auth-service`.

    Args:
        s: a dict key or target name.

    Returns:
        The kebab-case form.
    """
    out = ""
    for c in s.elems():
        if c in _UPPER:
            if out and out[-1] != "-":
                out += "-"
            out += c.lower()
        elif c == "_" or c == "." or c == " ":
            if out and out[-1] != "-":
                out += "-"
        else:
            out += c
    return out.strip("-")
