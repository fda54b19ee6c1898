# The MER2024 clips a teacher is asked about (shared by the API teachers'
# configs). Any CSV with a `name` column works; label-disdim.csv lists the
# labelled clips. For the unlabelled pool use a CSV of its names.
data_root = 'data/mer2024'

clips = dict(
    list_file=data_root + '/label-disdim.csv',
    video_dir=data_root + '/video',
    video_ext='.mp4',
    subtitle_file=data_root + '/subtitle_chieng.csv',
    subtitle_column='chinese')
