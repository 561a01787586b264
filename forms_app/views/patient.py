"""The patient's journey: open the link, prove who you are, fill in, check, submit.

The link token appears in one URL only: the first request moves it into the session and
redirects, as Django's password-reset confirm view does, so it never reaches a page,
a Referer header or the browser history beyond that first entry.
"""

import copy
import hashlib
import hmac
import json
import time
from collections import OrderedDict

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.decorators import method_decorator
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from formtools.wizard.forms import ManagementForm
from formtools.wizard.storage.base import BaseStorage
from formtools.wizard.views import WizardView

from forms_app import abuse, context_processors, fhir, services
from forms_app.delivery import services as delivery
from forms_app.engine import attachments, repeats
from forms_app.engine.fields import OpenChoiceField
from forms_app.kiosk import session as kiosk
from forms_app.models import Link, Submission
from forms_app.patient_forms import DateOfBirthForm
from forms_app.selectors import (
    attempts_left,
    compiled_version,
    find_link_by_token,
    journey_submission,
)
from forms_app.views import one_time_code
from patients.client_ip import client_ip
from patients.models import Patient

SESSION_LINK = context_processors.SESSION_LINK  # set by the link, before the identity check
SESSION_VERIFIED = "patient_verified"  # set once the identity check has passed
SESSION_REFERENCE = "patient_reference"
# The submission this session has just sent: the only one whose PDF it may download.
SESSION_SUBMITTED = "patient_submitted"
# This session's claim to be the link's one active device (services.claim_device).
SESSION_DEVICE = "patient_device"


def patient_session_seconds() -> int:
    """How long a patient may be idle before the session ends (answers stay saved)."""
    return settings.PATIENT_SESSION_SECONDS


SESSION_REFRESHED = "patient_refreshed"  # when the idle clock was last restarted
REFRESH_EVERY_SECONDS = 60


def keep_alive_session(request, *, force=False) -> None:
    # An idle timeout: patient requests restart the clock. set_expiry marks the session
    # modified, which costs a write of the session row, so it is done at most once a
    # minute (the timeout is then up to a minute early, never late); a request that
    # changes nothing else in the session writes nothing.
    now = int(time.time())
    last = request.session.get(SESSION_REFRESHED)
    if force or not isinstance(last, int) or now - last >= REFRESH_EVERY_SECONDS:
        request.session[SESSION_REFRESHED] = now
        request.session.set_expiry(patient_session_seconds())


def _link_invalid(request):
    # One neutral page for unknown, expired and revoked links alike. Its language switcher
    # returns to a URL of its own, never to the link (the token stays out of the page).
    return render(request, "forms_app/patient/link_invalid.html",
                  {"language_next": reverse("patient:unavailable")}, status=404)


@never_cache
@require_http_methods(["GET"])
def link_unavailable(request):
    return _link_invalid(request)


def _timed_out(request):
    """A journey page without a journey in this session: most likely the session ended."""
    return render(request, "forms_app/patient/timed_out.html", status=403)


def mark_verified(request, link) -> None:
    """The whole identity check passed on this device: a fresh session key (so a key seen
    before the check is worthless), and this session takes the form over from any other."""
    request.session.cycle_key()
    request.session[SESSION_VERIFIED] = str(link.pk)
    request.session[SESSION_DEVICE] = services.claim_device(link_id=link.pk,
                                                            ip_address=client_ip(request))


def _moved(request):
    # Told nothing about the form or its answers: only that it carries on elsewhere.
    return render(request, "forms_app/patient/moved.html", status=409)


def _lost(request, key):
    if kiosk.is_locked(request):
        return redirect("kiosk:hand_back")  # the back button on a handed-back tablet
    if getattr(request, "patient_moved", False):
        return _moved(request)
    # No link in the session at all: it timed out (or was never opened here); else the
    # link itself has closed (expired, revoked) since the patient opened it.
    if not request.session.get(SESSION_LINK) and not request.session.get(key):
        return _timed_out(request)
    if not request.session.get(key):
        return redirect("patient:verify")  # opened, but the identity check is still to do
    return _link_invalid(request)


def _session_link(request, key) -> Link | None:
    link_id = request.session.get(key)
    if not link_id:
        return None
    keep_alive_session(request)
    link = Link.objects.select_related("version", "patient").filter(pk=link_id).first()
    if link is None or not link.is_open_at(timezone.now()):
        return None
    return link


def _already_submitted(link) -> bool:
    return Submission.objects.filter(link=link).exclude(
        state=Submission.State.IN_PROGRESS).exists()


@never_cache
@require_http_methods(["GET"])
def start(request, token):
    if abuse.link_open_limited(request):
        return abuse.too_many_requests(request)
    link = find_link_by_token(token)
    if link is None:
        return _link_invalid(request)
    if _already_submitted(link):
        # Only the session that sent the form learns that it was sent (it goes back to
        # its confirmation); to anyone else holding the token the link answers exactly
        # as an unknown one does (issue 14, LOW 6).
        if (request.session.get(SESSION_SUBMITTED)
                and request.session.get(SESSION_LINK) == str(link.pk)):
            return redirect("patient:confirmation")
        return _link_invalid(request)
    # A new link means a new patient journey on this device: forget any previous one.
    for key in (SESSION_LINK, SESSION_VERIFIED, SESSION_REFERENCE):
        request.session.pop(key, None)
    request.session[SESSION_LINK] = str(link.pk)
    keep_alive_session(request)
    services.record_link_opened(link=link)
    return redirect("patient:verify")


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request):
    link = _session_link(request, SESSION_LINK)
    if link is None:
        return _lost(request, SESSION_LINK)
    if _already_submitted(link):
        return redirect("patient:already_submitted")
    if request.session.get(SESSION_VERIFIED) == str(link.pk):
        return redirect("patient:answer")
    if link.is_locked_at(timezone.now()):
        return abuse.link_locked(request, link.pk)
    if request.method == "POST" and abuse.identity_check_limited(request):
        return abuse.too_many_requests(request)
    form = DateOfBirthForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        needs_code = one_time_code.requires_code(link)  # issue 5: optional second step
        outcome = services.verify_identity(
            link_id=link.pk, date_of_birth=form.cleaned_data["date_of_birth"],
            ip_address=client_ip(request), final=not needs_code)
        if outcome == services.IdentityCheck.VERIFIED and needs_code:
            return one_time_code.start(request, link, client_ip(request))
        if outcome == services.IdentityCheck.VERIFIED:
            mark_verified(request, link)
            return redirect("patient:answer")
        if outcome == services.IdentityCheck.LOCKED:
            return abuse.link_locked(request, link.pk)
        left = attempts_left(link.pk)
        # One message (the page shows one): what went wrong, and how many tries are left.
        form.add_error(None, " ".join((
            _("The date of birth does not match our records. Check it and try again."),
            ngettext("You can try %(count)d more time before the link is paused for a "
                     "few minutes.",
                     "You can try %(count)d more times before the link is paused for a "
                     "few minutes.", left) % {"count": left})))
    return render(request, "forms_app/patient/verify.html",
                  {"form": form, "session_timeout": True},
                  status=200 if not form.errors else 400)


@never_cache
@require_http_methods(["GET", "POST"])
def verify_code(request):
    link = _session_link(request, SESSION_LINK)
    if link is None or request.session.get(one_time_code.SESSION_DOB_CHECKED) != str(link.pk):
        return _link_invalid(request) if link is None else redirect("patient:verify")
    if request.method == "POST" and request.POST.get("send_again"):
        return one_time_code.start(request, link, client_ip(request))
    form = one_time_code.CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        outcome = delivery.verify_one_time_code(link_id=link.pk, code=form.cleaned_data["code"],
                                                ip_address=client_ip(request))
        if outcome == services.IdentityCheck.VERIFIED:
            request.session.pop(one_time_code.SESSION_DOB_CHECKED, None)
            mark_verified(request, link)
            return redirect("patient:answer")
        if outcome == services.IdentityCheck.LOCKED:
            request.session.pop(one_time_code.SESSION_DOB_CHECKED, None)
            return abuse.link_locked(request, link.pk)
        form.add_error("code", _("The code is not right, or it has expired. Check it, or "
                                 "ask for a new code."))
    channel = (link.one_time_codes.values_list("channel", flat=True).first() or "sms")
    return render(request, "forms_app/patient/verify_code.html",
                  {"form": form, "channel": channel},
                  status=400 if form.errors else 200)


def _verified_submission(request, *, for_submit=False) -> Submission | None:
    link_id = request.session.get(SESSION_VERIFIED)
    if not link_id:
        return None
    keep_alive_session(request)
    submission = journey_submission(link_id, for_submit=for_submit)
    if submission is None or not submission.link.is_open_at(timezone.now()):
        return None
    held = services.device_fingerprint(request.session.get(SESSION_DEVICE, ""))
    if submission.device and not hmac.compare_digest(submission.device, held):
        # A newer session (another device, or another browser) has taken the form over.
        # Every request here is told so until the link is opened again on this device.
        request.patient_moved = True
        return None
    return submission


class SubmissionStorage(BaseStorage):
    """Wizard state kept on the submission row, never in a cookie, so that a patient can
    resume on another device. The view loads and saves it; this only holds it."""

    def __init__(self, prefix, request=None, file_storage=None):
        super().__init__(prefix, request, file_storage)
        state = getattr(request, "wizard_state", None)
        if state:
            self.data = state
        else:
            self.init_data()


def validated_answers(compiled, step_data: dict):
    """Validate every page the patient should have answered, in order.

    Returns (answers, None) when all are valid, else (answers so far, first bad page).
    Conditions only look back, so pages enabled by earlier answers are known in time.
    """
    answers: dict = {}
    for key in compiled.page_keys:
        if key not in compiled.enabled_page_keys(answers):
            continue
        if not step_data.get(key):
            return answers, key
        # Stored as plain lists (JSON); forms read them through a MultiValueDict.
        form = compiled.form_class(key, answers=answers)(
            data=MultiValueDict(step_data[key]), prefix=key)
        if not form.is_valid():
            return answers, key
        answers.update(form.cleaned_data)
    return compiled.prune(answers), None


# Where the wizard state keeps the fingerprint of the pages and answers last found
# valid together (validated_answers), so that "check your answers" and the final submit
# need not validate every page again while nothing has changed since (issue 12).
VALIDATED = "validated"


def answers_fingerprint(version_id, step_data: dict, answers: dict) -> str:
    """What a set of validated pages and the answers made of them is known by: any
    change to either, another version, or another day (a date limit such as "not in
    the future" is checked against today) gives another fingerprint. Both live on the
    submission row, which only this server writes, so a plain digest is enough."""
    payload = json.dumps([str(version_id), timezone.localdate().isoformat(), step_data,
                          answers], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def checked_answers(compiled, submission):
    """validated_answers for the submission's saved pages, reusing the result stored
    when the same pages last passed (the answers saved with them), never a page that
    has not: (answers, None), or (answers so far, first bad page)."""
    state = submission.wizard_state or {}
    step_data = state.get("step_data", {})
    answers = submission.draft_answers or {}
    stored = state.get("extra_data", {}).get(VALIDATED)
    if stored and stored == answers_fingerprint(submission.link.version_id, step_data,
                                                answers):
        return answers, None
    return validated_answers(compiled, step_data)


# The hidden inputs naming the questions a page showed that depend on answers on the
# same page, outside any conditional reveal: a POST that enables one not in this list
# brings the page back with it shown, rather than an error for a question not yet seen.
SHOWN_FIELD = "engine_shown"


def reveal_target(compiled, on_page: set, item, form) -> tuple[str, str] | None:
    """(controlling question, option value) when ``item`` is shown by one answer to a
    radio or checkbox question on the same page: it goes inside that option's NHS.UK
    conditional reveal. None for anything else (any other condition, or none here)."""
    chain = [compiled.items[a].enable_when for a in item.ancestors] + [item.enable_when]
    local = [ew for ew in chain if ew is not None and ew.questions & on_page]
    if len(local) != 1 or len(local[0].conditions) != 1:
        return None
    condition = local[0].conditions[0]
    value = _reveal_value(condition, form.fields.get(condition.question))
    return None if value is None else (condition.question, value)


def _reveal_value(condition, field) -> str | None:
    """The option value of a radio or checkbox ``field`` that meets ``condition``."""
    if (condition.operator != "=" or condition.kind not in ("Boolean", "Coding", "String")
            or field is None or isinstance(field, OpenChoiceField)
            or not isinstance(field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple)):
        return None
    if condition.kind == "Boolean":
        value = "yes" if condition.answer else "no"
    else:
        value = str(condition.answer)
    if value not in {str(choice) for choice, _ in field.choices}:
        return None
    return value


def instance_reveal(compiled, member, form, path: str) -> tuple[str, str] | None:
    """(controlling field's name, option value) when ``member``, in the repeat instance
    whose fields start with ``path``, is shown by one answer to a radio or checkbox
    question of the same instance: it goes in that option's conditional reveal, as on
    the page itself. None for anything else (it comes back shown once enabled)."""
    ancestors = member.ancestors
    inside = ancestors[ancestors.index(member.scope) + 1:] if member.scope in ancestors else ()
    if member.enable_expression is not None or any(
            compiled.items[a].enable_when is not None
            or compiled.items[a].enable_expression is not None for a in inside):
        return None
    enable_when = member.enable_when
    if enable_when is None or len(enable_when.conditions) != 1:
        return None
    condition = enable_when.conditions[0]
    controller = compiled.items.get(condition.question)
    if controller is None or controller.scope != member.scope:
        return None
    name = path + condition.question
    value = _reveal_value(condition, form.fields.get(name))
    return None if value is None else (name, value)


def _block(item, form, page):
    if item.link_id in form.fields:
        return None if form[item.link_id].is_hidden else {"field": form[item.link_id]}
    if item.type == "display" and item.text:
        return {"display": item.text}
    if item.type == "group" and item.text and item.link_id != page.key:
        return {"heading": item.text}
    return None


def page_blocks(compiled, page, form, answers) -> list[dict]:
    """The page's display text, sub-group headings and questions, in the form's order:
    what jinja2/forms_app/patient/page.html renders (the journey and staff preview).

    A question (or heading, or text) shown by one answer to a radio or checkbox question
    on this page sits in that answer's conditional reveal (``reveals``: option value ->
    blocks), so with JavaScript it appears in place and without it is always there.
    Anything else is shown when ``answers`` (saved, or just posted) enable it. Each
    block of such a question has ``shown`` set (see SHOWN_FIELD).
    """
    on_page = {item.link_id for item in page.items}
    visible = {item.link_id for item in compiled.visible_items(page.key, answers)}
    dynamic = {item.link_id for item in getattr(form, "engine_dynamic", ())}
    layout = {node.item.link_id: node for node in getattr(form, "engine_layout", ())}
    blocks, by_id = [], {}
    for item in page.items:
        if item.in_repeat:
            # A repeat's block holds its instances and all inside them (repeat_block).
            if layout.get(item.link_id) and item.link_id in visible:
                blocks.append(repeat_block(compiled, form, layout[item.link_id],
                                           is_page=item.link_id == page.key))
            continue
        target = reveal_target(compiled, on_page, item, form)
        if target is None and item.link_id not in visible:
            continue
        block = _block(item, form, page)
        if block is None:
            continue
        if target is not None:
            controller = by_id.get(target[0])
            if controller is None:
                continue  # its question is not on the page now, so neither is this
            controller.setdefault("reveals", {}).setdefault(target[1], []).append(block)
        else:
            block["shown"] = item.link_id in dynamic
            blocks.append(block)
        by_id[item.link_id] = block
    _add_group_errors(blocks, by_id, form)
    return blocks


def _add_group_errors(blocks: list[dict], by_id: dict, form) -> None:
    """A required group's error under its heading, or atop the page when the group is
    the page itself (whose heading is the page's own)."""
    for link_id, text in getattr(form, "engine_group_errors", {}).items():
        error = {"text": text, "id": f"group-{link_id}-error"}
        heading = by_id.get(link_id)
        if heading is not None and "heading" in heading:
            heading["error"] = error
        else:
            blocks.insert(0, {"group_error": error})


def repeat_block(compiled, form, node, *, is_page=False) -> dict:
    """A repeating group's or question's block: its instances, each in a fieldset
    named "Relative 2" with its own blocks and a "Remove" button, and "Add another".

    Both buttons post the page (no JavaScript needed); their ``formaction`` fragment
    brings the patient back to the instance added, or to the list after a removal.
    """
    if form.is_bound:
        form.errors  # noqa: B018 (cleaning decides which questions each instance enables)
    enabled = form.engine_enabled_names
    item = node.item
    list_id = "repeat-" + node.count_name[:-len(repeats.SEP + repeats.COUNT)]
    instances = []
    removable = len(node.instances) > max(node.minimum, 1)
    # Not posted yet: what a blank instance enables.
    blank = compiled.walk_instance(item.link_id, {}, {})[0] if enabled is None else set()
    for instance in node.instances:
        label = repeats.instance_label(item, instance.index + 1)
        blocks = _instance_blocks(compiled, form, instance, enabled or set(), blank)
        instances.append({
            "id": "repeat-" + instance.path.rstrip(repeats.SEP),
            "label": label,
            "blocks": blocks,
            "remove": {"value": instance.path.rstrip(repeats.SEP), "target": list_id,
                       "label": _("Remove"), "hidden": label.lower()} if removable else None,
        })
    add = None
    if len(node.instances) < node.limit:
        add = {"value": node.path + item.link_id, "label": repeats.add_label(item),
               "target": "repeat-" + repeats.instance_name(node.path, item,
                                                          len(node.instances))}
    return {"repeat": {"id": list_id, "title": "" if is_page else item.text,
                       "count": {"name": form.add_prefix(node.count_name),
                                 "value": len(node.instances)},
                       "single": item.is_repeating_question,
                       "instances": instances, "add": add,
                       "add_name": repeats.ADD, "remove_name": repeats.REMOVE}}


def _instance_blocks(compiled, form, instance, enabled: set, blank: set) -> list[dict]:
    """One instance's blocks: a question shown by one answer of the same instance sits
    in that answer's conditional reveal (there whatever the answers, so JavaScript can
    show it in place); any other is there when the instance's answers enable it."""
    blocks, by_name = [], {}
    for kind, *rest in instance.members:
        if kind == "repeat":
            blocks.append(repeat_block(compiled, form, rest[0]))
        elif kind == "field":
            member, name = rest
            target = instance_reveal(compiled, member, form, instance.path)
            if target is not None and target[0] in by_name:
                by_name[target[0]].setdefault("reveals", {}).setdefault(
                    target[1], []).append({"field": form[name]})
            elif target is None and (name in enabled or member.link_id in blank):
                block = {"field": form[name], "shown": member.enable_when is not None
                         or member.enable_expression is not None}
                blocks.append(block)
                by_name[name] = block
        else:
            blocks.append({kind: rest[0].text})
    return blocks


def shown_questions(blocks) -> list[str]:
    """The names of the same-page-dependent questions shown outside any reveal (in a
    repeat's instances too)."""
    found = []
    for block in blocks:
        if block.get("shown") and "field" in block:
            found.append(block["field"].name)
        for instance in block.get("repeat", {}).get("instances", ()):
            found += shown_questions(instance["blocks"])
    return found


class PageForms(OrderedDict):
    """The enabled pages, in order, each building its form class only when asked for:
    formtools reads the keys all the time, but a request needs one page's form."""

    def __init__(self, compiled, answers, keys):
        super().__init__((key, None) for key in keys)
        self._compiled, self._answers = compiled, answers

    def __getitem__(self, key):
        form_class = super().__getitem__(key)
        if form_class is None:
            form_class = self._compiled.form_class(key, answers=self._answers)
            super().__setitem__(key, form_class)
        return form_class

    def get(self, key, default=None):  # OrderedDict.get would skip __getitem__
        try:
            return self[key]
        except KeyError:
            return default


@method_decorator(never_cache, name="dispatch")
class AnswerWizard(WizardView):
    """One page of the form at a time (django-formtools), saved as the patient goes."""

    storage_name = "forms_app.views.patient.SubmissionStorage"
    template_name = "forms_app/patient/page.html"
    # formtools insists on a class-level form list; the real one comes from the version.
    form_list = [DateOfBirthForm]
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        self.submission = _verified_submission(request)
        if self.submission is None:
            return _lost(request, SESSION_VERIFIED)
        if self.submission.is_submitted:
            return redirect("patient:already_submitted")
        # In the patient's language where the version carries a translation (same
        # linkIds and codes, so saved answers read the same in every language).
        self.compiled = compiled_version(self.submission.link.version).translated(
            get_language())
        self.draft_answers = dict(self.submission.draft_answers or {})
        # The storage mutates its data in place: it gets a copy, and the row's own
        # (read nowhere else) stays pristine to detect changes.
        request.wizard_state = copy.deepcopy(self.submission.wizard_state)
        loaded_state = self.submission.wizard_state
        self.form_list = OrderedDict((key, None) for key in self.compiled.page_keys)
        response = super().dispatch(request, *args, **kwargs)
        changed = (self.storage.data != loaded_state
                   or self.draft_answers != (self.submission.draft_answers or {}))
        # Saved on every change, so closing the browser loses nothing.
        if changed and not services.save_progress(
                submission_id=self.submission.pk, wizard_state=self.storage.data,
                draft_answers=self.draft_answers, device=self.submission.device):
            # Sent meanwhile, or taken over by another device between read and write.
            if _already_submitted(self.submission.link):
                return redirect("patient:already_submitted")
            return _moved(request)
        return response

    def get_form_initial(self, step):
        """SDC initialExpressions (e.g. the date of birth from %patient) for questions
        not yet answered. The patient is read only for forms that use them."""
        page = self.compiled.page(step)
        if not any(item.initial_expression is not None for item in page.questions):
            return super().get_form_initial(step)
        patient = Patient.objects.get(pk=self.submission.link.patient_id)
        return self.compiled.initial_for_page(
            step, self.draft_answers, launch={"patient": fhir.patient_resource(patient)})

    def get_form_list(self):
        # formtools asks for the form list dozens of times a request (every steps.*
        # lookup); build it once per state of the answers, which is what it depends on.
        cached = getattr(self, "_form_list_for", None)
        if cached is not None and cached[0] == self.draft_answers:
            form_list = cached[1]
        else:
            enabled = self.compiled.enabled_page_keys(self.draft_answers)
            form_list = PageForms(self.compiled, dict(self.draft_answers), enabled)
            self._form_list_for = (dict(self.draft_answers), form_list)
        # formtools clears these after each valid step; keep them present.
        self._resolved_form_list = form_list
        self._cache_signature = None
        return form_list

    def _reached(self, step) -> bool:
        """A patient may go to a page only once every page before it is answered."""
        for key in self.get_form_list():
            if key == step:
                return True
            if self.storage.get_step_data(key) is None:
                return False
        return False

    def get(self, request, *args, **kwargs):
        form_list = self.get_form_list()
        extra = dict(self.storage.extra_data)
        change = request.GET.get("change")
        step = change or request.GET.get("step")
        if step and step in form_list and self._reached(step):
            self.storage.current_step = step
            extra["return_to_check"] = bool(change)
        elif self.storage.current_step not in form_list:
            self.storage.current_step = self.steps.first
        self.storage.extra_data = extra
        return self.render(self.get_form(data=self.storage.current_step_data))

    def post(self, *args, **kwargs):
        form_list = self.get_form_list()
        goto = self.request.POST.get("wizard_goto_step")
        if goto and not (goto in form_list and self._reached(goto)):
            return redirect("patient:answer")
        management_form = ManagementForm(self.request.POST, prefix=self.prefix)
        if not goto and (not management_form.is_valid() or not self._reached(
                management_form.cleaned_data["current_step"])):
            # A tampered, skipped or out-of-date page: back to where the patient is.
            messages.warning(self.request, _("That page was out of date. Please try again."))
            return redirect("patient:answer")
        if goto:
            return super().post(*args, **kwargs)
        # formtools' own post, with one step added: questions the answers just enabled.
        self.storage.current_step = management_form.cleaned_data["current_step"]
        for action in (repeats.ADD, repeats.REMOVE):
            if action in self.request.POST:
                return self._change_instances(action)
        form = self.get_form(data=self.request.POST, files=self.request.FILES)
        valid = form.is_valid()
        self.page_answers = self._posted_answers(form)
        unseen = self._unseen_questions(form)
        if unseen:
            # Shown now, for the first time, with what the patient typed kept and no
            # error for a question they had not seen (no JavaScript, or a condition
            # the page cannot reveal in place).
            for link_id in unseen:
                form.errors.pop(link_id, None)
            self.new_questions = unseen
            return self.render(form)
        if not valid:
            return self.render(form)
        self.storage.set_step_data(self.steps.current, self.process_step(form))
        self.storage.set_step_files(self.steps.current, self.process_step_files(form))
        if self.steps.current == self.steps.last:
            return self.render_done(form, **kwargs)
        return self.render_next_step(form)

    def _change_instances(self, action):
        """ "Add another" or "Remove": the page again, one instance more or fewer, with
        what the patient typed kept and no errors yet (nothing is saved until the
        page is sent with "Save and continue")."""
        data = repeats.changed_data(self.request.POST, self.get_form_prefix(), action,
                                    self.request.POST.get(action))
        if data is None:
            return redirect("patient:answer")
        form = self.get_form(data=data)
        form.is_valid()
        self.page_answers = self._posted_answers(form)
        form._errors.clear()
        return self.render(form)

    def _posted_answers(self, form) -> dict:
        """The saved answers with this page's replaced by what was just posted."""
        kept = {k: v for k, v in self.draft_answers.items() if k not in form.fields}
        return {**kept, **getattr(form, "cleaned_data", {})}

    def _unseen_questions(self, form) -> list[str]:
        dynamic = getattr(form, "engine_dynamic", ())
        if not dynamic and not getattr(form, "engine_enabled_names", None):
            return []
        page = self.compiled.page(self.steps.current)
        on_page = {item.link_id for item in page.items}
        shown = set(self.request.POST.getlist(SHOWN_FIELD))
        enabled = self.compiled.enabled_link_ids(self.page_answers)
        unseen = [
            item.link_id for item in dynamic
            if item.link_id in enabled and item.link_id not in shown
            and reveal_target(self.compiled, on_page, item, form) is None
        ]
        # In a repeat's instance, a question its siblings' answers just enabled.
        for name in form.engine_enabled_names or ():
            item = self.compiled.items.get(name.rsplit(repeats.SEP, 1)[-1])
            if item is None or name in shown or (
                    item.enable_when is None and item.enable_expression is None):
                continue
            # One in a conditional reveal was on the page all along.
            if instance_reveal(self.compiled, item, form, name[:-len(item.link_id)]) is None:
                unseen.append(name)
        return unseen

    def process_step(self, form):
        data = self._store_attachments(form)
        self.draft_answers = self.compiled.prune({**self.draft_answers, **form.cleaned_data})
        return data

    def _store_attachments(self, form):
        """The page's raw data to keep, each newly attached file stored (encrypted) and
        named in it by its signed answer, so the page validates again without the bytes."""
        data = form.data
        uploads = {name: value for name, value in form.cleaned_data.items()
                   if isinstance(value, attachments.UploadedAttachment)}
        if not uploads:
            return data
        data = data.copy()
        for name, upload in uploads.items():
            answer = services.store_attachment(submission_id=self.submission.pk,
                                               link_id=name, upload=upload)
            form.cleaned_data[name] = answer
            key = form.add_prefix(name)
            data.pop(f"{key}_remove", None)
            if answer is not None:
                data[f"{key}_current"] = attachments.sign(answer)
        return data

    def process_step_files(self, form):
        # Files never go into the wizard's storage: _store_attachments keeps them.
        return {}

    def render_next_step(self, form, **kwargs):
        if self.storage.extra_data.get("return_to_check"):
            # Changing one answer from "check your answers" goes straight back there,
            # unless the change opened a page that still needs answering.
            return self.render_done(form, **kwargs)
        # Post/Redirect/Get, as GOV.UK services answer a saved page: the next page is
        # its own GET, so refreshing it or coming back to it never sends the answers
        # again ("Confirm form resubmission" on a phone), and the save itself renders
        # nothing. The storage remembers the page; the address holds no answer.
        self.storage.current_step = self.steps.next
        return HttpResponseRedirect(reverse("patient:answer"))

    def render_done(self, form, **kwargs):
        # formtools' own render_done resets the storage, which would lose the answers
        # the "check your answers" page shows and changes.
        answers, bad_step = validated_answers(self.compiled, self.storage.data["step_data"])
        if bad_step is not None:
            self.storage.current_step = bad_step
            return self.render(self.get_form(step=bad_step,
                                             data=self.storage.get_step_data(bad_step)))
        self.draft_answers = answers
        self.storage.extra_data = {
            **self.storage.extra_data, "return_to_check": False,
            VALIDATED: answers_fingerprint(self.submission.link.version_id,
                                           self.storage.data["step_data"], answers)}
        return HttpResponseRedirect(reverse("patient:check"))

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        keys = list(self.get_form_list())
        page = next(p for p in self.compiled.pages if p.key == self.steps.current)
        visible_fields = [f for f in form if not f.is_hidden]
        single_question = len(visible_fields) == 1
        blocks = page_blocks(self.compiled, page, form,
                             getattr(self, "page_answers", self.draft_answers))
        context.update(
            blocks=blocks,
            shown_dynamic=shown_questions(blocks),
            shown_name=SHOWN_FIELD,
            new_questions=getattr(self, "new_questions", []),
            page=page,
            progress=progress_text(self.compiled, keys, self.steps.current),
            previous_step=self.steps.prev,
            single_question=single_question,
            return_to_check=self.storage.extra_data.get("return_to_check", False),
            session_timeout=True,
            form_title=self.compiled.title,
            content_lang=self.compiled.lang_within(get_language()),
            # Once, where the form begins: what it is for, in the author's words.
            description=self.compiled.description if self.steps.current == keys[0] else "",
            save_later=not kiosk.is_kiosk(self.request),
        )
        return context


def progress_text(compiled, enabled: list[str], step: str) -> str:
    """ "Page 2 of 3", counting the pages as the patient meets them. Where a condition can
    add or drop a page the total is every page the form could show ("of up to 4"), so an
    answer that adds a page never makes the count jump back ("Page 1 of 2", "Page 2 of 3")."""
    number = enabled.index(step) + 1
    if compiled.page_count_varies:
        return _("Page %(number)s of up to %(count)s") % {
            "number": number, "count": len(compiled.page_keys)}
    # The msgid the Django template's blocktranslate had, so the Welsh catalogue keeps it.
    return _("Page %(number)s of %(count)s") % {"number": number, "count": len(enabled)}


@never_cache
@require_http_methods(["GET", "POST"])
def check_answers(request):
    submission = _verified_submission(request, for_submit=request.method == "POST")
    if submission is None:
        return _lost(request, SESSION_VERIFIED)
    if submission.is_submitted:
        return redirect("patient:already_submitted")
    compiled = compiled_version(submission.link.version).translated(get_language())
    answers, bad_step = checked_answers(compiled, submission)
    if bad_step is not None:
        return redirect("patient:answer")
    if request.method == "POST":
        try:
            submitted = services.submit(submission_id=submission.pk, answers=answers,
                                        ip_address=client_ip(request), submission=submission)
        except services.AlreadySubmitted:
            if kiosk.is_kiosk(request):
                return kiosk.lock(request)
            return redirect("patient:already_submitted")
        except services.LinkClosed:
            return _link_invalid(request)
        if kiosk.is_kiosk(request):
            return kiosk.lock(request)
        request.session[SESSION_REFERENCE] = submitted.reference
        request.session[SESSION_SUBMITTED] = str(submitted.pk)
        request.session.pop(SESSION_VERIFIED, None)
        return redirect("patient:confirmation")
    return render(request, "forms_app/patient/check.html", {
        "summary": compiled.summary(answers),
        "form_title": compiled.title,
        "content_lang": compiled.lang_within(get_language()),
        "last_step": compiled.enabled_page_keys(answers)[-1],
        "session_timeout": True,
    })


@never_cache
@require_http_methods(["GET"])
def confirmation(request):
    reference = request.session.get(SESSION_REFERENCE)
    if not reference:
        return redirect("patient:already_submitted")
    return render(request, "forms_app/patient/confirmation.html", {
        "reference": reference,
        "can_download": bool(request.session.get(SESSION_SUBMITTED)),
    })


@never_cache
@require_http_methods(["GET"])
def confirmation_pdf(request):
    """The patient's own copy of what they sent, for this session only (no id in the URL)."""
    submission_id = request.session.get(SESSION_SUBMITTED)
    if not submission_id:
        return redirect("patient:already_submitted")
    from forms_app.filing.services import patient_copy_pdf

    pdf = patient_copy_pdf(submission_id=submission_id, ip_address=client_ip(request))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="your-answers.pdf"'
    return response


@never_cache
@require_http_methods(["POST"])
def keep_alive(request):
    """The timeout warning's "Stay on this page" button: restart the idle clock."""
    if not request.session.get(SESSION_LINK):
        return _timed_out(request)
    keep_alive_session(request, force=True)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"seconds": patient_session_seconds()})
    # Without JavaScript there is no warning dialog; a plain POST just goes back.
    return redirect("patient:answer")


@never_cache
@require_http_methods(["GET"])
def timed_out(request):
    # Reached from the timeout warning when time runs out: end the session here too.
    if kiosk.is_kiosk(request) or kiosk.is_locked(request):
        return kiosk.lock(request)
    request.session.flush()
    return render(request, "forms_app/patient/timed_out.html")


@never_cache
@require_http_methods(["GET"])
def saved(request):
    """ "Save and come back later": how to return. Every page is saved as it is
    answered, so nothing is written here; the page says until when the link works."""
    submission = _verified_submission(request)
    if submission is None:
        return _lost(request, SESSION_VERIFIED)
    if submission.is_submitted:
        return redirect("patient:already_submitted")
    compiled = compiled_version(submission.link.version).translated(get_language())
    return render(request, "forms_app/patient/saved.html", {
        "expires_at": timezone.localtime(submission.link.expires_at),
        "form_title": compiled.title,
        "content_lang": compiled.lang_within(get_language()),
    })


@never_cache
@require_http_methods(["GET"])
def already_submitted(request):
    return render(request, "forms_app/patient/already_submitted.html")
