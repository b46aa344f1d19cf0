"""The paper's methods as compositions of label and head strategies."""
