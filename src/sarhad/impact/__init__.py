"""Border-section impact levels: a joint record per section, agreed by both parties, with a suggested level."""
