-- Every model glc has results for, even one with no score at all (all its tasks count 0):
-- models with imported scores and models with predictions.
SELECT model FROM imported_models
UNION
SELECT DISTINCT model FROM predictions
