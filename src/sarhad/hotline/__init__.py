"""The hotline between counterpart positions: precedence, receipts, acknowledgement and escalation."""
