"""The pipeline's Lambda code: its own import root after `sam build`; in the ncap_iac package it is
ncap_iac.lambda_repo, so that the worker and the local cloud share ncap_lambda.contract with it."""
