"""Ward and clinic whiteboards: who has a form to do, who has finished, who needs attention.

selectors.py builds the board (rows, counts, chart) for one care team and window in a
fixed number of queries; views.py serves it as a large-screen page, an HTML fragment the
page polls, and read-only JSON with ETags; charts.py draws the day's completion as SVG.
"""
