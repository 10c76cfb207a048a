"""Entities: village water committees, gram panchayat bodies, labs, agencies, contractors, ISAs, SHGs."""
