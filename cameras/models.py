"""Camera registrations, footage requests and evidence: built in the cameras issue."""
