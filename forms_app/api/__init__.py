"""The REST API for the EHR and other systems (Django REST framework, /api/v1/).

Each API client acts as its own service user, a member of exactly one care team, so
every query here is scoped by the same `visible_to(user)` rule as the staff pages.
"""
