"""Each setting is defined once in config/settings.py (a second assignment silently
overrides the first, as EMAIL_BACKEND once did, sending `make run`'s email by SMTP)."""

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

import config.settings

ONCE = ("EMAIL_BACKEND", "DEFAULT_FROM_EMAIL", "LANGUAGES")


def test_these_settings_are_assigned_once():
    tree = ast.parse(Path(config.settings.__file__).read_text())
    names = Counter(target.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
                    for target in node.targets if isinstance(target, ast.Name))
    assert {name: names[name] for name in ONCE} == dict.fromkeys(ONCE, 1)


def test_with_no_environment_email_goes_to_the_console():
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; "
            "django.setup(); from django.conf import settings; print(settings.EMAIL_BACKEND)")
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=Path(config.settings.__file__).parents[1])
    assert out.stdout.strip() == "django.core.mail.backends.console.EmailBackend"
