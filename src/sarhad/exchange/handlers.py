"""Record kinds owned by the exchange itself: the joint-record acts."""

from sarhad.exchange import joint  # noqa: F401  (registers joint.proposal and joint.decision)
