"""Clinic tablet (kiosk) mode: staff start a form for the patient in front of them.

Flow (views.py): a member of staff, logged in with a verified second factor, picks one of
their care teams' patients and a published form on the tablet (start). The service issues
a link and confirms the patient's identity in person; the view then ends the staff
session and starts the patient's on the same device, straight into the form. When the
patient sends the form, the session is flushed and the tablet shows "Please hand this
device back" (hand_back) until staff unlock it with their password and second factor.

Identity: the kiosk SKIPS the date-of-birth check. The member of staff has checked who the
patient is in person (as they would before any clinic encounter) and is named in the
audit trail as having done so: the IDENTITY_VERIFIED event is recorded with the staff user
as actor and detail {"method": "in-person", "device": "kiosk"}.
"""
