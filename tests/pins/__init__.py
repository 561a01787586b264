"""Pinned digests of what the Questionnaire codec produces (see tests/pins/canon.py).

The item rules of the parser, the exporter and the designer's item checks were moved
into one table (forms_app.engine.item_rules); these pins were taken before that move
so that it is proved not to change a compiled form, an exported Questionnaire or a
problem staff see. Regenerate only for a deliberate change of behaviour:
    PIN_WRITE=1 pytest tests/pins
"""
