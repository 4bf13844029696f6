"""Operations: metrics and probes (observe) and the logs."""
