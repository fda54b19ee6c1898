# The MER2024 clips a teacher is asked about (shared by the API teachers'
# configs). Any CSV with a `name` column works; label-disdim.csv lists the
# labelled clips. For the unlabelled pool use a CSV of its names.
# MER2024_ROOT, as for training (configs/_base_/datasets/mer2024.py): the
# folder with label-disdim.csv, video/ and subtitle_chieng.csv.
data_root = '{{$MER2024_ROOT:data/mer2024}}'

clips = dict(
    list_file=data_root + '/label-disdim.csv',
    video_root=data_root + '/video',            # <name>.mp4 (or .avi, ...)
    subtitle_file=data_root + '/subtitle_chieng.csv',
    subtitle_column='chinese')
