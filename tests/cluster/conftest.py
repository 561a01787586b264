"""The several-host run takes minutes and root: it runs only when asked for by its marker
(`pytest -m cluster`, or `make cluster-test`), never as part of a plain `pytest`."""


def pytest_collection_modifyitems(config, items):
    if "cluster" in (config.getoption("markexpr") or ""):
        return
    selected = [item for item in items if item.get_closest_marker("cluster") is None]
    deselected = [item for item in items if item.get_closest_marker("cluster") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
