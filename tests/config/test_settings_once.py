"""Each setting is defined once in config/settings.py (a second assignment silently
overrides the first, as EMAIL_BACKEND once did, sending `make run`'s email by SMTP)."""

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

import config.settings


def _defined(statements) -> Counter:
    """How many times each setting is set by these statements; the branches of an
    `if` count once (each is one definition, chosen by the environment)."""
    names = Counter()
    for node in statements:
        if isinstance(node, ast.If):
            branches = [_defined(node.body), _defined(node.orelse)]
            names.update({name: max(b[name] for b in branches)
                          for b in branches for name in b})
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Assign):
                for target in sub.targets:
                    base = target.value if isinstance(target, ast.Subscript) else target
                    if isinstance(base, ast.Name) and base.id.isupper():
                        names[base.id] += 1
            elif isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name):
                names[sub.target.id] += 1
            elif (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                  and isinstance(sub.func.value, ast.Name) and sub.func.value.id.isupper()
                  and sub.func.attr in ("update", "append", "extend", "insert",
                                        "setdefault")):
                names[sub.func.value.id] += 1
    return names


def test_every_setting_is_defined_in_one_place():
    # Including the beat schedule, once built in six places: a second assignment, a
    # `|=`, an item set or an update() later in the file is a second place.
    tree = ast.parse(Path(config.settings.__file__).read_text())
    assert {name: n for name, n in _defined(tree.body).items() if n > 1} == {}


def test_a_second_definition_is_found():
    tree = ast.parse("A = {}\nif X:\n    B = 1\nelse:\n    B = 2\nA['k'] = 1\nC = 1\nC |= 2")
    assert {name: n for name, n in _defined(tree.body).items() if n > 1} == {"A": 2, "C": 2}


def test_with_no_environment_email_goes_to_the_console():
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; "
            "django.setup(); from django.conf import settings; print(settings.EMAIL_BACKEND)")
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=Path(config.settings.__file__).parents[1])
    assert out.stdout.strip() == "django.core.mail.backends.console.EmailBackend"
