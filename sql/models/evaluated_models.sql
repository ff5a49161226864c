-- Every model glc has results for, even one with no score at all (all its tasks count 0).
SELECT DISTINCT model FROM imported_models
