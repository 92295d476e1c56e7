-- apikey-diesel: reverts apikey0003_usage_marks.
DROP TABLE IF EXISTS apikey_usage_marks;
