"""The staff home (/staff/): where a signed-in clinician or receptionist starts."""
