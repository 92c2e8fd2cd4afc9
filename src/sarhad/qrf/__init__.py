"""Joint rapid-response forces (issue 19): QRF units, their readiness, and the board both sides share."""
