"""Evidence: adding it to a draft, the store that keeps its files, the content check of an
upload, and the deletion of student data after its retention."""
