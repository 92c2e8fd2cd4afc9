"""Incidents: reports of cross-border incidents, their workflow, sharing, the situational picture and reports."""
