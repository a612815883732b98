"""Records: an educator's learning record, profiles and the tenant policy, reports for
coordinators and HR, and the completions export."""
