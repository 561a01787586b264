"""Template helpers of the staff layout: which section a page is in, and who may use
the admin (templates/staff/layout.html)."""

from django import template

from patients.models import Organisation

register = template.Library()

# (namespace, url name or None for any) -> the header navigation item it belongs to.
_SECTIONS = {
    ("staff", None): "home",
    ("clinic", "lists"): "lists",
    ("clinic", "list"): "lists",
    ("clinic", None): "patients",
    ("worklist", None): "worklist",
    ("whiteboard", None): "home",
    ("kiosk", None): "kiosk",
    ("records", None): "patients",
}


@register.simple_tag(takes_context=True)
def staff_section(context) -> str:
    match = getattr(context.get("request"), "resolver_match", None)
    if match is None:
        return ""
    return (_SECTIONS.get((match.namespace, match.url_name))
            or _SECTIONS.get((match.namespace, None), ""))


@register.filter
def can_use_admin(user) -> bool:
    """Someone with something to do in the admin: a platform superuser, an organisation
    administrator, or a user given any model permission (designers, for example)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or user.get_all_permissions()
                or Organisation.objects.administered_by(user).exists())
