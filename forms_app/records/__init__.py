"""Readable records for staff: a submission's answers as "question: answer" with its
scores, bands and flags (from the compiled form), and the filed PDF one click away."""
