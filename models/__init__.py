"""The one model package: networks, losses, datasets, training and evaluation, shared by the scripts and the server.

Rooms (each module one idea):
  core      config (ModelConfig, TrainConfig), vae (the networks), losses, editing, device, inference, runs (the run
            folder's file names and load_run), io (atomic writes), recipes (configs/*.json)
  data/     labels (labels.csv), images (the decoded cache), splits, emotions, readers (dataset layouts), synthetic
            (the built-in faces), transfer (annotation transfer), fewshot (labelling from a support set)
  train/    loop (train_run), schedule, augment, distributed (torchrun), ensure (train unless done)
  eval/     tasks (evaluate_run, one function per task), rundata, export (what the server reads), probes,
            projections, judge (the independent VA regressor), fidelity, affect (the field's metrics), report
The server imports the core and data/ only, never train/ or eval/.
"""
