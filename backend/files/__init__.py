"""Files: photos, test reports and label PDFs, in instance/uploads or object storage."""
