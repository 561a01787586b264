"""Form design: the draft (relational models, edited in the admin) to and from FHIR
Questionnaires, the checks before publishing, versions, preview and the library.

The engine (forms_app.engine) stays the one interpreter of a definition; this package
only translates the draft into the engine's format and back.
"""
