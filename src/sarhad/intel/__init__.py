"""Intelligence reports: graded, approved by a second person, released below the tearline (issue 18)."""
