"""Filing a submission: what is filed (QuestionnaireResponse, scores and flags, PDF),
where (the internal record, an external FHIR server), and escalation of urgent flags
to the care team's worklist."""
