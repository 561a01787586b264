"""Delivery of links and one-time codes to patients by text message and email.

messages  the wording (per organisation, with defaults) and its placeholders
backends  console, Django's email backend (SMTP) and GOV.UK Notify, chosen in settings
services  queue a message, send it, record receipts, resend, extend, remind, codes
tasks     the Celery tasks that send, remind and close finished links
views     GOV.UK Notify's delivery-receipt callback
"""
