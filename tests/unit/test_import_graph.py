"""The packages import in one direction only: no module reaches itself back through others."""

from __future__ import annotations

import grimp

PACKAGES = ("bot", "meetings", "storage")


def import_circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """For each direct import that some chain of imports leads back from, that circle, e.g.
    ``[a, b, c, a]`` when ``a`` imports ``b``, ``b`` imports ``c`` and ``c`` imports ``a``."""
    circles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                circles.append([importer, *back])
    return circles


def test_no_module_is_part_of_an_import_circle() -> None:
    """Not even through imports made only for type checking: the chat renderer, the request
    context and the live counts once imported each other in a circle."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)

    assert import_circles(graph) == []


def test_a_circle_is_found() -> None:
    """The check above sees a circle when there is one."""
    graph = grimp.ImportGraph()
    for module in ("bot.telegram.render", "bot.telegram.context", "bot.telegram.live"):
        graph.add_module(module)
    graph.add_import(importer="bot.telegram.render", imported="bot.telegram.context")
    graph.add_import(importer="bot.telegram.context", imported="bot.telegram.live")
    graph.add_import(importer="bot.telegram.live", imported="bot.telegram.render")

    assert import_circles(graph)[0] == ["bot.telegram.context", "bot.telegram.live",
                                        "bot.telegram.render", "bot.telegram.context"]
